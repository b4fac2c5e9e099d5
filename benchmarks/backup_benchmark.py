"""Backup and restore drill as a benchmark: `aioa backup`, `aioa backup verify`, `aioa restore` into an empty home,
then `aioa report monthly --json` on both homes must be identical. Each step is timed as the operator runs it (the
CLI in its own process, start-up included) and the backup's size is reported.

    uv run python benchmarks/backup_benchmark.py --home data        # a built home (make demo / aioa run)

Prints a table and writes benchmarks/results/backup-<label>.json. The home is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
AIOA = str(Path(sys.executable).with_name("aioa"))


def run(home: Path, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [AIOA, *args], env=os.environ | {"AIOA_HOME": str(home)}, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, done.stdout


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "data", help="A built AIOA_HOME (read only).")
    parser.add_argument("--label", default="small", help="Name of the result file (backup-<label>.json).")
    options = parser.parse_args()
    home = options.home.resolve()
    work = Path(tempfile.mkdtemp(prefix="aioa-backup-bench-"))
    try:
        backup_dir, restored = work / "backup", work / "restored"
        seconds = {}
        seconds["backup"], out = run(home, "backup", str(backup_dir), "--json")
        report = json.loads(out)
        seconds["verify"], out = run(home, "backup", "verify", str(backup_dir), "--json")
        verify_report = json.loads(out)
        seconds["restore"], out = run(restored, "restore", str(backup_dir), "--json")
        restore_report = json.loads(out)
        _, original = run(home, "report", "monthly", "--json")
        _, copy = run(restored, "report", "monthly", "--json")
        result = {
            "home": str(home),
            "home_bytes": folder_bytes(home),
            "backup_bytes": folder_bytes(backup_dir),
            "files": report["files"],
            "snapshot_version": report["snapshot_version"],
            "seconds": {name: round(value, 2) for name, value in seconds.items()},
            "seconds_inside": {
                "backup": report["seconds"],
                "verify": verify_report["seconds"],
                "restore": restore_report["seconds"],
            },
            "reports_identical": original == copy,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = Table(
        title=f"backup drill ({options.label}): {result['backup_bytes'] / 1e6:,.1f} MB, {result['files']} files"
    )
    for column in ("step", "wall s (CLI)", "s inside"):
        table.add_column(column)
    for step in ("backup", "verify", "restore"):
        table.add_row(step, f"{result['seconds'][step]:.2f}", f"{result['seconds_inside'].get(step, '')}")
    Console().print(table)
    Console().print(f"monthly report identical after restore: {result['reports_identical']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"backup-{options.label}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
