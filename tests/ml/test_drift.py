"""Routing drift: injected shifts of the task-type mix, text length, vocabulary and success rate are flagged; windows
drawn from one distribution are not (measured over 20 splits); the stored table is per org and its events carry
org, metric, value, threshold and severity for automations."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from ml.routing import drift

from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.ml_tables import write_ml_tables

TYPES = ["debugging", "documentation", "refactor", "test_writing"]
VERBS = ["fix", "explain", "rename", "document", "speed up", "review", "test", "simplify"]
OBJECTS = ["the parser", "the retry helper", "the billing job", "the cache layer", "the login flow", "the scheduler"]
EXTRAS = ["", " in the legacy module", " across every service", " without breaking the public API"]


def tasks(count: int, rng: np.random.Generator, *, types=None, success=0.6, extra_words: str = "") -> pd.DataFrame:
    """Routed tasks as fct_handoffs carries them (text, type, verified outcome)."""
    weights = types or [0.25] * 4
    return pd.DataFrame(
        {
            "task_type": rng.choice(TYPES, count, p=weights),
            "task_text": [
                f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(EXTRAS)}{extra_words}" for _ in range(count)
            ],
            "success": (rng.random(count) < success).astype(float),
            "outcome_verified": True,
        }
    )


def flagged(rows: list[dict]) -> dict[str, str]:
    return {row["metric"]: row["severity"] for row in rows if row["severity"] in ("warn", "critical")}


def test_windows_from_one_distribution_rarely_raise_an_alarm():
    rng = np.random.default_rng(11)
    alarms = [bool(flagged(drift.compare(tasks(300, rng), tasks(120, rng)))) for _ in range(20)]
    # six tests per comparison at p < 0.01 (99% for the outcome): about 1 in 17 comparisons by chance
    assert sum(alarms) <= 3, alarms


@pytest.mark.parametrize(
    ("shift", "metric"),
    [
        ({"types": [0.7, 0.1, 0.1, 0.1]}, "task_type_mix"),
        ({"extra_words": " and explain every step of the change in a detailed written report"}, "text_length"),
        ({"success": 0.35}, "success_rate"),
    ],
)
def test_an_injected_shift_is_flagged(shift, metric):
    rng = np.random.default_rng(5)
    rows = drift.compare(tasks(300, rng), tasks(120, rng, **shift))
    assert metric in flagged(rows), rows
    row = next(row for row in rows if row["metric"] == metric)
    assert row["value"] >= row["threshold"] if metric != "success_rate" else row["value"] <= -row["threshold"]
    if metric == "success_rate":
        assert row["high"] < 0 < row["reference_value"] - row["current_value"]


def test_new_vocabulary_moves_the_text_projections():
    rng = np.random.default_rng(8)
    current = tasks(120, rng)
    current["task_text"] = [f"deploy the kubernetes helm chart for {rng.choice(OBJECTS)}" for _ in range(120)]
    assert any(metric.startswith("text_topic_") for metric in flagged(drift.compare(tasks(300, rng), current)))


def test_psi_matches_its_formula():
    reference, current = np.array([10, 30, 60]), np.array([30, 30, 40])
    expected = sum((c - r) * np.log(c / r) for r, c in zip(reference / 100, current / 100, strict=True))
    assert drift.psi_from_counts(reference, current) == pytest.approx(expected)


def dated(frame: pd.DataFrame, org: str, start: date, days: int, rng: np.random.Generator) -> pd.DataFrame:
    offsets = rng.integers(0, days, len(frame))
    stamps = [datetime.combine(start + timedelta(days=int(offset)), datetime.min.time()) for offset in offsets]
    return frame.assign(org_id=org, ts_utc=stamps)


@pytest.fixture(scope="module")
def handoffs() -> pd.DataFrame:
    """Two orgs over 56 days; in acme's last 14 days success falls from 0.7 to 0.3, globex stays the same."""
    rng = np.random.default_rng(2)
    start, split = date(2026, 9, 1), date(2026, 9, 1) + timedelta(days=42)
    return pd.concat(
        [
            dated(tasks(400, rng, success=0.7), "acme", start, 42, rng),
            dated(tasks(150, rng, success=0.3), "acme", split, 14, rng),
            dated(tasks(400, rng, success=0.6), "globex", start, 42, rng),
            dated(tasks(150, rng, success=0.6), "globex", split, 14, rng),
        ],
        ignore_index=True,
    )


def test_windows_per_org_and_events_for_automations(handoffs, tmp_path):
    frame = drift.routing_drift(handoffs)
    assert set(frame["org_id"]) == {"acme", "globex"}
    acme = frame[frame["org_id"] == "acme"].set_index("metric")
    assert acme.loc["success_rate", "current_rows"] == 150 and acme.loc["success_rate", "reference_rows"] == 400
    assert str(acme.loc["success_rate", "as_of"]) == "2026-10-26"
    settings = Settings(home=tmp_path / "home")
    write_ml_tables(settings, {"routing_drift": frame})
    events = drift.drift_events(settings, TenantScope.all_orgs())
    assert [(event.org_id, event.metric) for event in events] == [("acme", "success_rate")]
    event = events[0]
    assert event.severity == "critical" and event.threshold == drift.OUTCOME_WARN
    assert event.value == pytest.approx(acme.loc["success_rate", "value"]) and event.value < -0.25
    assert set(event.to_dict()) >= {"org_id", "metric", "value", "threshold", "severity"}
    assert drift.drift_events(settings, TenantScope.for_orgs("globex")) == []  # another org's drift stays hidden
    assert drift.drift_events(settings, TenantScope.for_orgs("acme"), min_severity="critical") == events


def test_too_few_tasks_say_so_instead_of_guessing():
    rows = drift.compare(tasks(30, np.random.default_rng(1)), tasks(30, np.random.default_rng(2)))
    assert [row["severity"] for row in rows] == ["insufficient_data"]
