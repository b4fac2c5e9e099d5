"""Deterministic sample data: several orgs, 120+ days, every log quirk, known truths and labelled anomalies."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from aioa.generate.anomalies import anomalies_for, latency_factors, record_affected_spans
from aioa.generate.bulk import write_bulk_transcripts
from aioa.generate.claude_code import write_transcripts
from aioa.generate.handoffs import truth_csv, write_handoffs
from aioa.generate.otel import write_otel
from aioa.generate.world import END_DAY, Calendar, attribution_yaml

SIZES = {  # days, activity scale of the detailed world, handoffs, bulk benchmark calls
    "small": (120, 0.35, 3_000, 0),
    "large": (365, 1.0, 200_000, 10_000_000),
}


def generate(
    out_dir: Path,
    size: Literal["small", "large"] = "small",
    seed: int = 42,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    with_anomalies: bool = True,
) -> dict:
    """Write the sample; `with_anomalies=False` writes the same world without anomalies (and an empty label list)."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    days, scale, handoff_count, bulk_calls = SIZES[size]
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    calendar = Calendar.ending(END_DAY, days)
    anomalies = anomalies_for(calendar, np.random.default_rng([seed, 3])) if with_anomalies else []
    truth = write_transcripts(out_dir / "claude-code", calendar, rng, scale, anomalies, progress)
    handoffs, routing_truth = write_handoffs(out_dir, calendar, np.random.default_rng(seed + 1), handoff_count)
    otel = write_otel(out_dir, calendar, np.random.default_rng(seed + 2), scale, latency_factors(anomalies))
    record_affected_spans(anomalies, otel["degraded_spans"])
    bulk = (
        write_bulk_transcripts(out_dir / "claude-code", bulk_calls, calendar.days[0], days, seed, progress)
        if bulk_calls
        else {"calls": 0, "files": 0}
    )
    (out_dir / "attribution.yaml").write_text(attribution_yaml())
    (out_dir / "labels").mkdir()
    (out_dir / "labels" / "anomalies.json").write_text(json.dumps(anomalies, indent=2))
    (out_dir / "labels" / "routing_truth.csv").write_text(truth_csv(routing_truth))
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
