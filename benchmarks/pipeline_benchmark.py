"""Pipeline benchmark: the full pipeline (ingest, dbt build, quality checks, publish) on a generated dataset, then an
incremental run after one new day of logs. Reports seconds and rows/s per step.

Prints a table and writes benchmarks/results/pipeline-<size>.json. Targets on 2 cores (small sample): full < 60 s,
incremental < 15 s. `--size large` runs the same on the 10-million-call dataset (generated once, reused).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def ensure_sample(path: Path, size: str, seed: int) -> Path:
    if not (path / "handoffs").exists():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "aioa.cli", "generate", "--size", size, "--seed", str(seed),
                        "--out", str(path)], check=True, cwd=ROOT)
    return path


def write_new_day(folder: Path, calls: int, day: datetime) -> Path:
    """One more day of Claude Code logs: `calls` responses spread over sessions of 40 calls."""
    folder.mkdir(parents=True, exist_ok=True)
    for session in range((calls + 39) // 40):
        lines = []
        for index in range(min(40, calls - session * 40)):
            ts = day + timedelta(minutes=session * 3 + index / 20)
            usage = {"input_tokens": 40 + index, "output_tokens": 300 + 7 * index, "cache_read_input_tokens": 20_000,
                     "cache_creation_input_tokens": 1_000,
                     "cache_creation": {"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 0}}
            lines.append(json.dumps({
                "type": "assistant", "sessionId": f"bench-{day:%Y%m%d}-{session}", "cwd": "/home/alice/src/billing",
                "gitBranch": "main", "version": "2.1.39", "uuid": f"u-{session}-{index}", "timestamp": ts.isoformat() + "Z",
                "requestId": f"req_bench_{day:%Y%m%d}_{session}_{index}",
                "message": {"id": f"msg_bench_{day:%Y%m%d}_{session}_{index}", "model": "claude-sonnet-4-5-20250929",
                            "role": "assistant", "type": "message", "content": [{"type": "text", "text": "ok"}],
                            "usage": usage}}))
        (folder / f"bench-{session}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=("small", "large"), default="small")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=None, help="Folder for the dataset and warehouse.")
    args = parser.parse_args()
    from aioa.pipeline import SourcePaths, run_pipeline
    from aioa.settings import Settings

    work = args.work or ROOT / "benchmarks" / "results" / f"pipeline-{args.size}"
    sample = ensure_sample(work / "sample", args.size, args.seed)
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(sample / "attribution.yaml", home / "attribution.yaml")
    settings = Settings(home=home)
    sources = SourcePaths.from_sample(sample)

    runs = {}
    started = time.perf_counter()
    runs["full"] = (run_pipeline(settings, sources), time.perf_counter() - started)
    calls = _count(settings, "select count(*) from raw.llm_calls")
    days = max(1, _count(settings, "select count(distinct cast(ts_utc as date)) from raw.llm_calls"))
    new_day = write_new_day(work / "new-day" / ".claude" / "projects" / "-home-alice-src-billing", calls // days,
                            datetime(2026, 11, 21, 8, 0))
    sources.claude_code.append(new_day.parents[1])
    started = time.perf_counter()
    runs["incremental (+1 day)"] = (run_pipeline(settings, sources), time.perf_counter() - started)
    shutil.rmtree(work / "new-day")

    table = Table(title=f"pipeline benchmark ({args.size}: {calls:,} calls over {days} days)")
    for column in ("run", "step", "seconds", "rows", "rows/s"):
        table.add_column(column, justify="left" if column in ("run", "step") else "right")
    results = {"size": args.size, "calls": calls, "days": days, "runs": {}}
    targets = {"full": 60.0, "incremental (+1 day)": 15.0}
    for name, (report, seconds) in runs.items():
        rows = sum(sum((step.get("details") or {}).get("rows_added", {}).values())
                   for step in report.steps if step["step"].startswith("ingest"))
        for step in report.steps:
            table.add_row(name, step["step"], f"{step['seconds']:.2f}", "", "")
        table.add_row(f"[bold]{name}[/]", "[bold]total[/]", f"[bold]{seconds:.2f}[/]", f"{rows:,}",
                      f"{rows / seconds:,.0f}")
        results["runs"][name] = {"seconds": round(seconds, 2), "rows_added": rows, "rows_per_s": round(rows / seconds),
                                 "target_seconds": targets[name], "steps": report.steps}
    Console().print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"pipeline-{args.size}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    Console().print(f"wrote {out}")


def _count(settings, sql: str) -> int:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchone()[0]


if __name__ == "__main__":
    main()
