"""The anomaly detector measured over several generated seeds (the 20-seed run is benchmarks/ml_quality.py): recall
per magnitude bucket, precision, false alarms per org-month on anomaly-free data; the detector's input holds no
label; a detector that never fires or fires every day fails the same measurement; the marts built for the
measurement (production ingest and dbt models) equal the pipeline's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from ml.anomalies import measure
from ml.anomalies.config import Thresholds
from ml.anomalies.detect import detect

from aioa.generate.anomalies import BUCKETS, KINDS, anomalies_for
from aioa.generate.world import END_DAY, Calendar

SEEDS = (11, 12, 13)
CLEAN_SEEDS = (21,)
LABEL_WORDS = ("kind", "magnitude", "bucket", "label", "anomal", "truth", "quiet", "description")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> list[measure.Dataset]:
    return measure.build_datasets(SEEDS, CLEAN_SEEDS, tmp_path_factory.mktemp("measure"))


@pytest.fixture(scope="module")
def production(datasets) -> tuple[dict, list[measure.SeedOutcome]]:
    return measure.measure(datasets)


def test_labels_are_drawn_per_seed_with_magnitudes(datasets):
    labels = {seed: anomalies_for(Calendar.ending(END_DAY, 120), np.random.default_rng([seed, 3])) for seed in (1, 2)}
    assert [item["start"] for item in labels[1]] != [item["start"] for item in labels[2]]
    for items in labels.values():
        assert {item["kind"] for item in items} == set(KINDS)
        for item in items:
            assert 1.5 <= item["magnitude"] <= 10
            low, high = (float(bound) for bound in item["magnitude_bucket"].rstrip("x").split("-"))
            assert low <= item["magnitude"] <= high
        days = sorted(pd.Timestamp(item["start"]).normalize() for item in items)
        assert all((later - earlier).days >= 2 for earlier, later in zip(days, days[1:], strict=False))
    # what generate() wrote for the measured seeds: the drawn labels, and none for the anomaly-free seeds
    for dataset in datasets:
        written = json.loads(dataset.labels.read_text())
        assert (len(written) == 8) if dataset.with_anomalies else (written == [])


def test_recall_is_reported_per_bucket_and_meets_the_targets(production):
    summary, _ = production
    assert set(summary["recall_by_bucket"]) == {f"{low:g}-{high:g}x" for low, high in BUCKETS}
    labels = sum(cell["n"] for cell in summary["recall_by_bucket_counting_unobservable"].values())
    assert labels == 8 * len(SEEDS)
    assert sum(cell["n"] for cell in summary["recall_by_bucket"].values()) == labels - summary["unobservable_labels"]
    for cell in summary["recall_by_bucket"].values():
        if cell["n"]:
            assert cell["ci95"][0] <= cell["value"] <= cell["ci95"][1]
    assert summary["recall_at_3x_or_more"]["value"] >= 0.9, summary["recall_by_kind_and_bucket"]
    assert summary["precision"]["value"] >= 0.9, summary["precision"]


def test_clean_data_gives_at_most_one_false_alarm_per_org_month(production):
    summary, outcomes = production
    clean = summary["clean"]
    assert clean["org_months"] == pytest.approx(sum(o.org_months for o in outcomes if not o.with_anomalies))
    assert clean["org_months"] > 10  # four orgs x about three scored months per seed
    assert clean["per_org_month"] <= 1.0, clean


def test_the_detector_sees_only_the_marts_and_no_label(datasets):
    seen = []

    def spying(connection):
        seen.append(measure.input_columns(connection))
        return measure.production_detector(connection)

    measure.score_dataset(datasets[0], spying)
    (tables,) = seen
    assert set(tables) == {"marts.fct_llm_calls", "marts.agg_usage_hourly", "marts.agg_usage_daily"}
    columns = {column for names in tables.values() for column in names}
    assert not [column for column in columns if any(word in column for word in LABEL_WORDS)], columns
    assert datasets[0].labels.parent / "detector_input.duckdb" == datasets[0].marts


def test_the_noise_floor_separates_plain_anomalies_from_ordinary_noise(datasets, production):
    """Each label against its own series on the anomaly-free seed: an error burst's hour is beyond every ordinary
    hour of its user (p = 0), while some labels (a small org's 1.5-2x session, one slowed span) are matched by
    ordinary windows more than once per org-month; the label order is the outcome's (found flags line up)."""
    _, outcomes = production
    clean = [dataset for dataset in datasets if not dataset.with_anomalies]
    rows, found = [], []
    for dataset, outcome in zip(datasets, outcomes, strict=True):
        if dataset.with_anomalies:
            rows += measure.noise_floor(dataset, clean)
            found += outcome.labels
    assert len(rows) == 8 * len(SEEDS) and [row["kind"] for row in rows] == [label["kind"] for label in found]
    bursts = [row for row in rows if row["kind"] == "error_burst"]
    assert bursts and all(row["p"] == 0 for row in bursts), bursts
    assert any(row["ordinary_per_org_month"] > 1 for row in rows), rows
    floor = measure.summarise_noise_floor(rows, found)
    assert sum(cell["labels"] for cell in floor.values()) == 8 * len(SEEDS) - production[0]["unobservable_labels"]


def test_the_reachable_bound_splits_the_budget_among_the_kinds():
    """Labels of one bucket with the false alarms per org-month a threshold on their own series costs: catching a
    kind's j easiest labels costs its j-th smallest floor, and the kinds share the budget in the best split; another
    bucket's labels, unobservable labels and labels never reached (NaN) do not count."""
    floors = {"runaway_agent": [0.0, 0.02, 0.5], "usage_surge": [0.03, 0.04, float("nan")]}
    rows = [
        {"kind": kind, "magnitude_bucket": "1.5-2x", "ordinary_per_org_month": cost}
        for kind, costs in floors.items()
        for cost in costs
    ]
    rows += [
        {"kind": "usage_surge", "magnitude_bucket": "2-3x", "ordinary_per_org_month": 0.0},
        {"kind": "latency_degradation", "magnitude_bucket": "1.5-2x", "ordinary_per_org_month": 0.0},
    ]
    found = [{"observable": True}] * 7 + [{"observable": False}]
    reach = {
        budget: measure.reachable_within(rows, found, "1.5-2x", budget)["reachable"]
        for budget in (0, 0.02, 0.05, 0.06, 1.0)
    }
    assert reach == {0: 1, 0.02: 2, 0.05: 3, 0.06: 4, 1.0: 5}
    assert measure.reachable_within(rows, found, "1.5-2x", 1.0)["labels"] == 6


@pytest.mark.parametrize("broken", ["never_fires", "fires_every_day"])
def test_a_broken_detector_fails_the_measurement(datasets, production, broken):
    def never_fires(connection):
        muted = Thresholds(score=1e9, latency_score=1e9, session_size_score=1e9, session_cost_spike_score=1e9)
        return detect(connection, thresholds=muted).anomalies

    def fires_every_day(connection):
        days = connection.execute("select distinct org_id, day from marts.agg_usage_daily").df()
        return pd.DataFrame(
            {
                "org_id": days["org_id"],
                "kind": "usage_surge",
                "start": pd.to_datetime(days["day"]),
                "end": pd.to_datetime(days["day"]) + pd.Timedelta(days=1),
            }
        )

    # two anomaly seeds and the clean one are enough to fail it (the real detector is slow to run even when muted)
    subset = [dataset for dataset in datasets if dataset.seed != SEEDS[-1]]
    summary, _ = measure.measure(subset, {"never_fires": never_fires, "fires_every_day": fires_every_day}[broken])
    failed = measure.failed_targets(summary)
    if broken == "never_fires":
        assert {"recall_at_3x_or_more", "recall_1.5-2x"} <= set(failed)
        assert summary["recall_at_3x_or_more"]["value"] == 0
    else:
        assert {"precision", "false_alarms_per_org_month"} <= set(failed)
        assert summary["clean"]["per_org_month"] > 20


def test_the_measurement_marts_equal_the_marts_the_pipeline_builds(built_home, tmp_path):
    """The measurement's dataset of the sample's seed (ingest + dbt, no Dagster) against the pipeline's marts of the
    same sample: the same calls, errors (Claude Code's <synthetic> errors attributed to the failed model), cost,
    sessions and latency, so the detector is measured on what production gives it."""
    import duckdb

    from aioa.settings import Settings

    dataset = measure.build_dataset(7, tmp_path)  # conftest's sample_dir: the small sample of seed 7
    connection = duckdb.connect()
    from aioa.warehouse.sql import sql_string

    # ATTACH binds no ? in DuckDB 1.5
    connection.execute(f"attach {sql_string(str(dataset.marts))} as ours (read_only)")
    connection.execute(f"attach {sql_string(str(Settings(home=built_home).warehouse_path))} as theirs (read_only)")
    for table, period in (("agg_usage_daily", "day"), ("agg_usage_hourly", "hour")):
        query = (
            f"select {period}, org_id, coalesce(user_id, '') as user_id, model, sum(calls) as calls, "
            f"sum(error_calls) as errors, sum(cost_usd) as cost from {{}}.marts.{table} group by all order by all"
        )
        ours = connection.execute(query.format("ours")).df()
        theirs = connection.execute(query.format("theirs")).df()
        assert len(ours) > 100
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, check_exact=False, rtol=1e-9)  # sum order
    query = (
        "select org_id, user_id, session_id, day, hour, count(*), count(latency_ms), sum(latency_ms) "
        "from {}.marts.fct_llm_calls group by all order by all"
    )
    pd.testing.assert_frame_equal(
        connection.execute(query.format("ours")).df(),
        connection.execute(query.format("theirs")).df(),
        check_dtype=False,
    )


def test_alert_volume_without_labels_counts_per_org_month_and_flags_a_surge():
    from ml.anomalies.volume import alert_volume

    days = pd.date_range("2026-01-01", periods=118, freq="D")  # 28 history days + 90 scored days, two orgs
    org_days = pd.DataFrame({"org_id": ["a"] * 118 + ["b"] * 118, "day": list(days) * 2})
    steady = pd.DataFrame({"start": [days[40], days[70], days[100]]})  # one alert a month
    volume = alert_volume(steady, org_days)
    assert volume["alerts_per_org_month"] == pytest.approx(3 / (2 * 90 / 30.4375))
    assert volume["recent_per_org_month"] == pytest.approx(1 / (2 * 30 / 30.4375))
    assert volume["in_band"] is True
    surge = pd.DataFrame({"start": [days[40]] + [days[-1 - index] for index in range(12)]})
    volume = alert_volume(surge, org_days)
    assert volume["recent_vs_trailing"] >= 3 and volume["in_band"] is False
