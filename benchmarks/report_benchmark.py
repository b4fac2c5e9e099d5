"""Report rendering: the executive-monthly template (6 charts) built from a home's snapshot and rendered to PDF,
in process (queries, charts, HTML, WeasyPrint: each step timed, warm after the first run) and end to end as
`aioa report render executive-monthly --format pdf` in a fresh process. Wall and CPU seconds: on a shared machine
the CPU seconds are what an idle one would take. Prints a table, writes results/report.json.

    uv run python benchmarks/report_benchmark.py --home ~/.aioa [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_S = 5.0


def in_process(home: Path, runs: int) -> list[dict]:
    from weasyprint import HTML

    from aioa.reports.render.build import build_report
    from aioa.reports.render.charts import chart_png
    from aioa.reports.render.formats import to_html
    from aioa.reports.render.templates import BUILTIN
    from aioa.settings import Settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.snapshots import open_snapshot

    timings = []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        connection, version = open_snapshot(Settings(home=home))
        with connection:
            report = build_report(connection, TenantScope.all_orgs(), BUILTIN["executive-monthly"], snapshot=version)
        built, built_cpu = time.perf_counter(), time.process_time()
        charts = sum(chart_png(section) is not None for section in report.sections)
        charted, charted_cpu = time.perf_counter(), time.process_time()
        html = to_html(report)  # draws the charts again, inside the page
        laid = time.perf_counter()
        pdf = HTML(string=html).write_pdf()
        done = time.perf_counter()
        timings.append(
            {
                "queries_s": built - started,
                "charts_s": charted - built,
                "html_with_charts_s": laid - charted,
                "weasyprint_s": done - laid,
                "pdf_total_s": (built - started) + (laid - charted) + (done - laid),
                "pdf_total_cpu_s": time.process_time() - cpu - (charted_cpu - built_cpu),  # the extra chart step
                "charts": charts,
                "pdf_bytes": len(pdf),
            }
        )
    return timings


def end_to_end(home: Path, runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(runs):
            started, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "aioa.cli",
                    "report",
                    "render",
                    "executive-monthly",
                    "--format",
                    "pdf",
                    "--out",
                    str(Path(folder) / "report.pdf"),
                ],
                env=os.environ | {"AIOA_HOME": str(home)},
                check=True,
                capture_output=True,
            )
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    timings = in_process(arguments.home, arguments.runs)
    walls, cpus = end_to_end(arguments.home, arguments.runs)
    warm = timings[1:] or timings
    result = {
        "home": str(arguments.home),
        "load_average": os.getloadavg(),
        "charts": timings[0]["charts"],
        "in_process_first_s": timings[0]["pdf_total_s"],
        "in_process_warm_median_s": statistics.median(item["pdf_total_s"] for item in warm),
        "in_process_warm_median_cpu_s": statistics.median(item["pdf_total_cpu_s"] for item in warm),
        "steps_warm_median_s": {
            key: statistics.median(item[key] for item in warm)
            for key in ("queries_s", "charts_s", "html_with_charts_s", "weasyprint_s")
        },
        "cli_median_s": statistics.median(walls),
        "cli_runs_s": walls,
        "cli_median_cpu_s": statistics.median(cpus),
        "target_s": TARGET_S,
    }
    result["met"] = result["cli_median_s"] < TARGET_S
    result["met_on_cpu"] = result["cli_median_cpu_s"] < TARGET_S
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(result, indent=2))
    print(f"{'measure':<40} {'wall s':>8} {'CPU s':>8}")
    print(f"{'PDF in process, first run':<40} {result['in_process_first_s']:>8.2f}")
    print(
        f"{'PDF in process, warm (median)':<40} {result['in_process_warm_median_s']:>8.2f} "
        f"{result['in_process_warm_median_cpu_s']:>8.2f}"
    )
    for key, value in result["steps_warm_median_s"].items():
        print(f"{'  ' + key:<40} {value:>8.2f}")
    print(
        f"{'aioa report render (fresh process)':<40} {result['cli_median_s']:>8.2f} {result['cli_median_cpu_s']:>8.2f}"
    )
    print(
        f"charts: {result['charts']}; target < {TARGET_S} s: {'met' if result['met'] else 'missed'} "
        f"(on CPU seconds: {'met' if result['met_on_cpu'] else 'missed'}); "
        f"load average {result['load_average'][0]:.1f}"
    )


if __name__ == "__main__":
    main()
