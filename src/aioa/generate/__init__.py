"""Deterministic sample data: several orgs, 120+ days, every log quirk, known truths and labelled anomalies."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np

from aioa.generate.bulk import write_bulk_transcripts
from aioa.generate.claude_code import write_transcripts
from aioa.generate.handoffs import write_handoffs
from aioa.generate.otel import write_otel
from aioa.generate.world import END_DAY, USER_PROJECTS, USERS, Calendar, attribution_yaml

SIZES = {  # days, activity scale of the detailed world, handoffs, bulk benchmark calls
    "small": (120, 0.35, 3_000, 0),
    "large": (365, 1.0, 200_000, 10_000_000),
}


def anomalies_for(calendar: Calendar) -> list[dict]:
    """Ground-truth anomalies, placed on busy weekdays in the second half of the period."""
    weekdays = [day for day in calendar.days[len(calendar.days) // 2 :] if day.weekday() < 4 and day.day not in (7, 12)]
    picks = [weekdays[index] for index in (2, 9, 16, 23, 30)]

    def item(kind: str, day: date, user: str | None, model: str | None, description: str, hours: int = 24) -> dict:
        start = f"{day.isoformat()}T{'14' if hours < 24 else '00'}:00:00Z"
        end_day = day + timedelta(days=max(hours // 24, 1) - 1)
        end = f"{end_day.isoformat()}T{'15' if hours < 24 else '23'}:{'00' if hours < 24 else '59'}:00Z"
        project = USER_PROJECTS[user][0] if user else "core-ledger"
        return {
            "kind": kind,
            "start": start,
            "end": end,
            "grain": "hour" if hours < 24 else "day",
            "org_id": USERS[user][0] if user else "initech",
            "project_id": project,
            "user_id": user,
            "model": model,
            "description": description,
        }

    return [
        item("cost_spike", picks[0], "greta", "claude-opus-4-6", "opus with 40x cache writes for one session"),
        item("usage_surge", picks[1], "amara", None, "six times the usual sessions"),
        item("error_burst", picks[2], "arjun", "<synthetic>", "80 API errors (529 Overloaded) in an hour", hours=1),
        item("runaway_agent", picks[3], "gina", None, "one session looping 400 calls", hours=4),
        item(
            "latency_degradation",
            picks[4],
            None,
            "deepseek-chat",
            "deepseek-chat spans 5x slower for two days",
            hours=48,
        ),
    ]


def generate(
    out_dir: Path,
    size: Literal["small", "large"] = "small",
    seed: int = 42,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    days, scale, handoff_count, bulk_calls = SIZES[size]
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    calendar = Calendar.ending(END_DAY, days)
    anomalies = anomalies_for(calendar)
    truth = write_transcripts(out_dir / "claude-code", calendar, rng, scale, anomalies, progress)
    handoffs, routing_truth = write_handoffs(out_dir, calendar, np.random.default_rng(seed + 1), handoff_count)
    degraded = anomalies[-1]
    degraded_days = {degraded["start"][:10], degraded["end"][:10]}
    otel = write_otel(
        out_dir, calendar, np.random.default_rng(seed + 2), scale, ("deepseek-chat", degraded_days, degraded["org_id"])
    )
    bulk = (
        write_bulk_transcripts(out_dir / "claude-code", bulk_calls, calendar.days[0], days, seed, progress)
        if bulk_calls
        else {"calls": 0, "files": 0}
    )
    (out_dir / "attribution.yaml").write_text(attribution_yaml())
    (out_dir / "labels").mkdir()
    (out_dir / "labels" / "anomalies.json").write_text(json.dumps(anomalies, indent=2))
    header = "task_id,difficulty,p_success_cheap,p_success_strong,cheap_model,strong_model\n"
    (out_dir / "labels" / "routing_truth.csv").write_text(
        header
        + "".join(
            f"{row['task_id']},{row['difficulty']},{row['p_success_cheap']},{row['p_success_strong']},"
            f"{row['cheap_model']},{row['strong_model']}\n"
            for row in routing_truth
        )
    )
    expected = {
        "claude_code": truth.to_dict(),
        "bulk_claude_code_calls": bulk["calls"],
        "handoffs_v1": handoffs,
        "otel": otel,
        "days": [calendar.days[0].isoformat(), calendar.days[-1].isoformat()],
    }
    (out_dir / "truth").mkdir()
    (out_dir / "truth" / "expected_totals.json").write_text(json.dumps(expected, indent=2))
    calls = sum(row["calls"] for row in expected["claude_code"]["per_day_model"])
    return {
        "out_dir": str(out_dir),
        "size": size,
        "seed": seed,
        "days": days,
        "claude_code_calls": calls + bulk["calls"],
        "sessions": expected["claude_code"]["distinct_sessions"],
        "handoffs": handoffs,
        "otel_spans": otel["spans"],
        "anomalies": len(anomalies),
    }
