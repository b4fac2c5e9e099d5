"""ML quality report: each section measures one model on generated data it cannot have seen, with intervals, and
says whether its targets are met. Writes benchmarks/results/ml_quality.json (one key per section).

Sections:
- `anomalies`: the production detector on N seeds of the small sample with anomalies drawn per seed (1.5-10x) and
  M seeds without any: recall per magnitude bucket (Wilson 95%), per kind and per day type, precision (Wilson),
  false alarms per org-month on the clean seeds (bootstrap over seeds). How the data reaches the detector:
  ml/anomalies/measure.py. Datasets are cached in --work (about 12 CPU-s each to build), so re-scoring a changed
  detector costs only the detection.

`uv run python benchmarks/ml_quality.py [--section anomalies] [--seeds 20] [--clean-seeds 20]`
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ml_quality.json"
console = Console()


def anomalies_section(args: argparse.Namespace) -> dict:
    from ml.anomalies.measure import BUCKETS, build_datasets, measure

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    clean_seeds = range(args.first_seed + 1000, args.first_seed + 1000 + args.clean_seeds)
    started = time.perf_counter()
    datasets = build_datasets(seeds, clean_seeds, Path(args.work) / "anomalies", progress=console.log)
    built = time.perf_counter() - started
    summary, outcomes = measure(datasets)
    summary["seconds"] = {"build": round(built, 1), "detect_and_score": round(time.perf_counter() - started - built, 1)}
    summary["labels"] = [dict(label, seed=outcome.seed) for outcome in outcomes for label in outcome.labels]

    table = Table(title=f"anomalies: {len(list(seeds))} seeds with anomalies, {len(list(clean_seeds))} clean seeds")
    for column in ("measure", "n", "value", "95% interval", "target", "met"):
        table.add_column(column)
    targets = summary["targets"]

    def row(name: str, cell: dict, target: str = "", met: str = "") -> None:
        value = "-" if cell["value"] is None else f"{cell['value']:.2f}"
        low, high = cell["ci95"]
        table.add_row(name, str(cell["n"]), value, f"{low:.2f}-{high:.2f}" if cell["n"] else "-", target, met)

    for bucket in BUCKETS:
        target = targets["recall_1.5-2x"] if bucket == "1.5-2x" else None
        row(
            f"recall {bucket}",
            summary["recall_by_bucket"][bucket],
            f">= {target['target']}" if target else "",
            ("yes" if target["met"] else "NO") if target else "",
        )
    met = targets["recall_at_3x_or_more"]
    row("recall >= 3x", summary["recall_at_3x_or_more"], f">= {met['target']}", "yes" if met["met"] else "NO")
    met = targets["precision"]
    row("precision", summary["precision"], f">= {met['target']}", "yes" if met["met"] else "NO")
    clean = summary["clean"]
    met = targets["false_alarms_per_org_month"]
    table.add_row(
        "false alarms / org-month (clean)",
        f"{clean['org_months']:.0f} org-months",
        "-" if clean["per_org_month"] is None else f"{clean['per_org_month']:.3f}",
        f"{clean['ci95'][0]:.3f}-{clean['ci95'][1]:.3f}",
        f"<= {met['target']}",
        "yes" if met["met"] else "NO",
    )
    console.print(table)
    kinds = Table(title="recall by kind and by day type")
    for column in ("group", "n", "recall", "95% interval"):
        kinds.add_column(column)
    for name, cell in {**summary["recall_by_kind"], **summary["recall_working_vs_quiet_day"]}.items():
        kinds.add_row(name, str(cell["n"]), f"{cell['value']:.2f}", f"{cell['ci95'][0]:.2f}-{cell['ci95'][1]:.2f}")
    console.print(kinds)
    return summary


SECTIONS = {"anomalies": anomalies_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--section", choices=sorted(SECTIONS), action="append", help="default: every section")
    parser.add_argument("--seeds", type=int, default=20, help="anomalies: seeds with anomalies")
    parser.add_argument("--clean-seeds", type=int, default=20, help="anomalies: seeds without anomalies")
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--work", default=str(ROOT / "data" / "bench" / "ml_quality"), help="cached datasets")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.section or sorted(SECTIONS):
        results[name] = SECTIONS[name](args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
