"""Sections `performance`, `drift` and `capacity` of the ML quality report (benchmarks/ml_quality.py), on the small
sample (seed 7) built as the forecasts section builds it.

- `performance`: the performance predictor (ml/routing/performance.py) fitted on a split by task of the sample's
  handoffs: per model Brier score against the base rate, AUC and reliability curve; per target and model the 80%
  interval's coverage and width beside a per-model constant interval; how much the per-task estimates vary; and the
  time `aioa route predict` takes as a new process (wall and CPU), with a champion trained on the same home.
- `drift`: ml/routing/drift.py on the sample's handoffs: alarms on random same-distribution splits per org (false
  alarms), detection of injected shifts (task-type mix, text length, success rate) over seeds, and the windows the
  pipeline computes (last 14 days against the 42 before).
- `capacity`: the rate-limit plan (ml/capacity/forecast.py) with the default limits and the share of the last 14
  days under the 90% trend fitted without them (0.9 when the trend holds).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

console = Console()


def _home(args: argparse.Namespace) -> Path:
    """A copy of the forecasts section's built home, with a champion router trained (cached in --work)."""
    from ml.routing.train import train_router
    from ml_quality import _forecast_home

    from aioa.settings import Settings

    home = Path(args.work) / "performance" / "home"
    if not (home / ".trained").exists():
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(_forecast_home(args), home)
        with console.status("training the router on the sample"):
            outcome, _ = train_router(Settings(home=home))
        (home / ".trained").write_text(f"router v{outcome.version}: {outcome.reason}\n")
    return home


def _handoffs(home: Path) -> pd.DataFrame:
    from ml.routing.train import load_handoffs

    from aioa.settings import Settings

    return load_handoffs(Settings(home=home))


def performance_section(args: argparse.Namespace) -> dict:
    from ml.routing import performance
    from ml.routing.cli import performance_tables
    from ml.routing.data import split_by_task

    from aioa.settings import Settings

    home = _home(args)
    settings = Settings(home=home)
    started = time.perf_counter()
    predictor = performance.train_performance(settings)
    seconds = time.perf_counter() - started
    for table in performance_tables(predictor.evaluation):
        console.print(table)
    _, test = split_by_task(performance.observations(_handoffs(home)), seed=42)
    estimates = predictor.predict(test.drop_duplicates("task_id"))
    spread = {
        f"{target}__{model}": float(group[target].std() / group[target].mean())
        for target in performance.TARGETS
        for model, group in estimates.groupby("model")
    }
    console.print(f"per-task estimates, coefficient of variation across held-out tasks: {spread}")
    timing = _predict_timing(home, args.predict_calls)
    console.print(
        f"`aioa route predict --json` as a new process, {timing['calls']} calls: wall p50 {timing['wall_p50_s']:.2f} s, "
        f"max {timing['wall_max_s']:.2f} s; CPU p50 {timing['cpu_p50_s']:.2f} s (1-minute load {timing['load']:.1f})"
    )
    return {
        "evaluation": predictor.evaluation,
        "fit_seconds": round(seconds, 1),
        "estimate_variation": spread,
        "predict_cli": timing,
    }


def _predict_timing(home: Path, calls: int) -> dict:
    """`aioa route predict` in fresh processes (the first call writes nothing new: the champion's copy exists)."""
    environment = dict(os.environ, AIOA_HOME=str(home))
    executable = shutil.which("aioa") or "aioa"
    texts = ["add a docstring to the parser", "find the deadlock in the distributed scheduler", "rename a variable"]
    walls, cpus = [], []
    for index in range(calls + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [executable, "route", "predict", texts[index % 3], "--task-type", "debugging", "--json"],
            env=environment,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if index:  # the first call warms the file cache
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {
        "calls": calls,
        "wall_p50_s": float(np.median(walls)),
        "wall_max_s": float(np.max(walls)),
        "cpu_p50_s": float(np.median(cpus)),
        "load": os.getloadavg()[0],
    }


def drift_section(args: argparse.Namespace) -> dict:
    from ml.routing import drift

    handoffs = _handoffs(_home(args))
    seeds = range(args.drift_seeds)
    shifts = {
        "none": lambda frame, rng: frame,
        "task_type_mix": lambda frame, rng: _one_type_heavy(frame, rng),
        "text_length": lambda frame, rng: frame.assign(task_text=frame["task_text"] + " and report on every step"),
        "success_rate": lambda frame, rng: frame.assign(
            success=frame["success"].astype("Float64").where(rng.random(len(frame)) > 0.3, 0.0)
        ),
    }
    results = {}
    table = Table(
        title=f"drift on random splits of each org's handoffs (75% reference / 25% current), {len(seeds)} seeds"
    )
    for column in ("injected", "comparisons", "any alarm", "the injected metric flagged"):
        table.add_column(column)
    for name, shift in shifts.items():
        comparisons = alarms = hits = 0
        for seed in seeds:
            rng = np.random.default_rng(seed)
            for _, group in handoffs.groupby("org_id"):
                current = rng.random(len(group)) < 0.25
                rows = drift.compare(group[~current], shift(group[current], rng), seed)
                flagged = {row["metric"] for row in rows if row["severity"] in ("warn", "critical")}
                comparisons += 1
                alarms += bool(flagged)
                hits += name in flagged
        results[name] = {"comparisons": comparisons, "any_alarm_rate": alarms / comparisons}
        if name != "none":
            results[name]["detection_rate"] = hits / comparisons
        table.add_row(
            name, str(comparisons), f"{alarms / comparisons:.2f}", "" if name == "none" else f"{hits / comparisons:.2f}"
        )
    console.print(table)
    windows = drift.routing_drift(handoffs)
    console.print(windows[["org_id", "metric", "value", "severity", "p_value", "low", "high", "current_rows"]])
    results["pipeline_windows"] = windows.to_dict("records")
    return results


def _one_type_heavy(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Three quarters of the current tasks replaced by tasks of one type (from the same window)."""
    heavy = frame[frame["task_type"] == frame["task_type"].mode().iloc[0]]
    keep = rng.random(len(frame)) < 0.25
    extra = heavy.sample(int((~keep).sum()), replace=True, random_state=int(rng.integers(1 << 30)))
    return pd.concat([frame[keep], extra], ignore_index=True)


def capacity_section(args: argparse.Namespace) -> dict:
    from ml.capacity.forecast import capacity_forecast

    from aioa.settings import Settings

    settings = Settings(home=_home(args))
    plan = capacity_forecast(settings)
    console.print(plan[["org_id", "provider", "metric", "observed_peak", "trend_p90_today", "limit", "status"]])
    shares = plan["backtest_share_under_p90"].dropna()
    console.print(
        f"limits {settings.provider_rate_limits}; backtest: share of the last 14 days under the 90% trend fitted "
        f"without them, mean {shares.mean():.2f} over {len(shares)} series (min {shares.min():.2f})"
    )
    return {
        "limits": settings.provider_rate_limits,
        "plan": plan.to_dict("records"),
        "backtest_share_under_p90": {"mean": float(shares.mean()), "min": float(shares.min()), "series": len(shares)},
    }
