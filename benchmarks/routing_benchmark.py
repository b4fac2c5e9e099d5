"""Routing benchmark: route() latency with a trained champion (single call p50/p99, target p99 < 10 ms; a batch of
10,000 tasks, target < 1 s), and, on every outcome set we can build, the router beside random, always-cheap,
always-strong, the keyword heuristic and the oracle on the same held-out split: APGR with a bootstrap 95% interval,
CPT(50%), CPT(80%), AUC, Brier and handoff accuracy (always-cheap's beside it). Outcome sets: the small generated
handoffs split by template (expected outcomes from the generator's truth, with the Bayes-optimal router from the
text and the router's share of its savings at 95% quality; and observed outcomes where both were logged), the large
ones (optional), RouteLLM's MMLU outcomes split by prompt and with whole subjects held out. Same code and settings
for all.

Only the handoffs are generated (the generator's handoff writer: 3,000 small, 200,000 large), never the 7 GB
Claude Code tree. Training time is `evaluate()` wall time: the fit on the train split plus the threshold fit on
its validation part, then scoring the held-out split. Writes benchmarks/results/routing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MMLU = ROOT.parent / "shared" / "data" / "routellm-mmlu"
HANDOFFS = {"small": (120, 3_000), "large": (365, 200_000)}  # days, handoffs (aioa.generate.SIZES)


METRICS = ("apgr", "apgr_low", "apgr_high", "cpt_50", "cpt_80", "auc", "brier", "handoff_accuracy")
# generated data: cost saved at 95% of the strong model's quality, and the router's share of the Bayes-optimal
# router's (from the text) and the oracle's savings there (issue 14's target: ≥ 0.9 of the optimal savings)
SAVINGS = ("cost_saved_at_95pct_quality", "savings_share_of_bayes_text", "savings_share_of_oracle")


def generated_handoffs(folder: Path, size: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Handoff rows shaped like `marts.fct_handoffs` (the columns the router reads) and the generator's truth."""
    from ml.routing.data import read_generated_handoffs

    from aioa.generate.handoffs import truth_csv, write_handoffs
    from aioa.generate.world import END_DAY, Calendar

    days, count = HANDOFFS[size]
    _, truth = write_handoffs(folder, Calendar.ending(END_DAY, days), np.random.default_rng(seed + 1), count)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    (folder / "labels" / "routing_truth.csv").write_text(truth_csv(truth))
    return read_generated_handoffs(folder), pd.read_csv(folder / "labels" / "routing_truth.csv")


def metrics_rows(name: str, evaluation, seconds: float) -> list[dict]:
    rows = []
    for router, result in evaluation.routers.items():
        row = {
            "dataset": name,
            "split": evaluation.split,
            "outcomes": evaluation.outcomes,
            "train_rows": evaluation.train_rows,
            "test_rows": evaluation.test_rows,
            "router": router,
            "train_seconds": round(seconds, 1) if router == "router" else None,
        }
        row |= {key: round(float(result[key]), 4) for key in (*METRICS, *SAVINGS, "quality") if key in result}
        rows.append(row)
    return rows


def single_call_times(settings, tasks: list[dict], calls: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall and thread-CPU milliseconds of `calls` single route() calls (after 50 warm-up calls)."""
    from ml.routing.predict import route

    for task in tasks[:50]:
        route(task, settings)
    timings, cpu = [], []
    for index in range(calls):
        start, start_cpu = time.perf_counter(), time.thread_time()
        route(tasks[index % len(tasks)], settings)
        timings.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return np.array(timings) * 1000, np.array(cpu) * 1000


def latency(settings, tasks: list[dict], calls: int) -> dict:
    from ml.routing.predict import champion, route

    champion(settings)  # loading and compiling the champion is a one-off cost, not part of a call
    timings, cpu = single_call_times(settings, tasks, calls)
    logged = []
    for index in range(calls):
        start = time.perf_counter()
        route(tasks[index % len(tasks)], settings, explore=True, log=True)
        logged.append(time.perf_counter() - start)
    logged = np.array(logged) * 1000
    return {
        "single_calls": calls,
        "single_p50_ms": round(float(np.percentile(timings, 50)), 3),
        "single_p99_ms": round(float(np.percentile(timings, 99)), 3),
        # CPU time of the calling thread: wall minus waiting for a core on a shared, oversubscribed machine
        "single_cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
        "single_cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3),
        "logged_p50_ms": round(float(np.percentile(logged, 50)), 3),
        "logged_p99_ms": round(float(np.percentile(logged, 99)), 3),
    }


def batch_seconds(settings, tasks: list[dict]) -> float:
    from ml.routing.predict import route_batch

    start = time.perf_counter()
    route_batch(tasks, settings)
    return round(time.perf_counter() - start, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true", help="Leave out the 200,000 generated handoffs.")
    parser.add_argument("--skip-mmlu", action="store_true", help="Leave out RouteLLM's MMLU outcomes.")
    parser.add_argument("--calls", type=int, default=2_000, help="Single route() calls to time.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="Only route() speed (single calls and batches): no router comparisons.",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "routing.json")
    args = parser.parse_args()
    console = Console(width=170)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from ml.routing.data import attach_templates, from_handoffs, from_routing_csvs
    from ml.routing.evaluate import evaluate
    from ml.routing.model import score
    from ml.routing.predict import reload
    from ml.routing.train import train_router

    from aioa.settings import Settings

    rows, speed = [], {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        settings = Settings(home=work / "home")
        handoffs, truth = generated_handoffs(work / "small", "small", args.seed)
        data = attach_templates(from_handoffs(handoffs), truth)  # generated data: held-out templates
        if not args.speed_only:
            start = time.perf_counter()
            evaluation = evaluate(data, truth, 42, split="template")
            rows += metrics_rows("generated small (3,000 handoffs)", evaluation, time.perf_counter() - start)
            start = time.perf_counter()
            evaluation = evaluate(data, None, 42, split="template")
            rows += metrics_rows("generated small, observed outcomes only", evaluation, time.perf_counter() - start)
        start = time.perf_counter()
        outcome, _ = train_router(settings, data, truth)  # the champion that route() serves
        speed["train_and_register_small_seconds"] = round(time.perf_counter() - start, 2)
        reload()
        console.print(f"champion: {outcome.reason}")
        tasks = handoffs[["task_text", "task_type", "project_id", "input_tokens"]].to_dict("records")
        speed |= latency(settings, tasks, args.calls)
        generated_batch = (tasks * (10_000 // len(tasks) + 1))[:10_000]
        speed["batch_10k_generated_seconds"] = batch_seconds(settings, generated_batch)
        speed["batch_10k_generated_unique_texts"] = len({task["task_text"] for task in generated_batch})

        mmlu = from_routing_csvs(MMLU) if MMLU.exists() and not args.skip_mmlu else None
        if mmlu is not None:
            prompts = mmlu.frame.head(10_000).assign(task_type="unknown", project_id="unknown")
            speed["batch_10k_unique_prompts_seconds"] = batch_seconds(
                settings, prompts[["task_text", "task_type", "project_id", "input_tokens"]].to_dict("records")
            )
        if not args.skip_large and not args.speed_only:
            start = time.perf_counter()
            large, large_truth = generated_handoffs(work / "large", "large", args.seed)
            speed["generate_large_handoffs_seconds"] = round(time.perf_counter() - start, 1)
            start = time.perf_counter()
            evaluation = evaluate(from_handoffs(large), large_truth, 42, split="template")
            rows += metrics_rows("generated large (200,000 handoffs)", evaluation, time.perf_counter() - start)
        if mmlu is not None and not args.speed_only:
            for split, name in (
                ("task", "RouteLLM MMLU, split by prompt"),
                ("group", "RouteLLM MMLU, 17 of 57 subjects held out"),
            ):
                start = time.perf_counter()
                evaluation = evaluate(mmlu, None, 42, split=split)
                rows += metrics_rows(name, evaluation, time.perf_counter() - start)
                if split == "task":
                    # The same 10,000 prompts scored by the router trained on MMLU, through the one scoring function
                    start = time.perf_counter()
                    score(evaluation.model, mmlu.frame.head(10_000))
                    speed["batch_10k_unique_prompts_mmlu_router_seconds"] = round(time.perf_counter() - start, 3)

    table = Table(title="Routers on the same held-out split (APGR with a bootstrap 95% interval)")
    columns = (
        "dataset",
        "split",
        "outcomes",
        "test_rows",
        "router",
        "train_seconds",
        *METRICS,
        *SAVINGS,
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("dataset", "split", "outcomes", "router") else "right")
    for row in rows:
        table.add_row(*("" if row.get(column) is None else str(row[column]) for column in columns))
    console.print(table)
    targets = Table(title="route() speed (targets: single p99 < 10 ms, 10,000-task batch < 1 s)")
    targets.add_column("measure")
    targets.add_column("value", justify="right")
    for key, value in speed.items():
        targets.add_row(key, str(value))
    console.print(targets)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    args.out.write_text(
        json.dumps(
            {"quality": rows, "speed": speed, "cpu_count": os.cpu_count(), "load_average_1m": round(load[0], 2)},
            indent=2,
        )
    )
    console.print(f"wrote {args.out} (1-minute load average {load[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
