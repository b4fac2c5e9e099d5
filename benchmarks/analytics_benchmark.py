"""Deep-analytics benchmark: the readers behind Behaviour & patterns and Comparisons & KPIs, timed on a published
snapshot with the pages' default window (last 30 days) for every org and for one org: p50/p95 over N runs (target
p95 < 100 ms, as the other page queries), and the comparison's test on its own (Mann-Whitney + 2,000 bootstrap
resamples).

    uv run python benchmarks/analytics_benchmark.py --home PATH [--runs 20]

Prints a table and writes benchmarks/results/analytics.json. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="an AIOA_HOME with a published snapshot")
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()

    from aioa.analytics import Filters, behaviour, compare, filter_options
    from aioa.analytics.kpi_formula import kpi_values, parse_formula
    from aioa.settings import Settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.snapshots import open_snapshot

    connection, version = open_snapshot(Settings(home=options.home))
    everyone = TenantScope.all_orgs()
    bounds = filter_options(connection, everyone)
    window = Filters(bounds["last_day"] - timedelta(days=29), bounds["last_day"])
    org = bounds["orgs"][0]
    teams = bounds["teams"][:2]
    formula = parse_formula("spend / sessions")
    cases = {
        "active_hours": lambda scope: behaviour.active_hours(connection, window, scope),
        "behaviour_by(team)": lambda scope: behaviour.behaviour_by(connection, window, scope, "team"),
        "behaviour_by(user)": lambda scope: behaviour.behaviour_by(connection, window, scope, "user"),
        "models_used(team)": lambda scope: behaviour.models_used(connection, window, scope, "team"),
        "tools_used(team)": lambda scope: behaviour.tools_used(connection, window, scope, "team"),
        "project_phases": lambda scope: behaviour.project_phases(connection, window, scope),
        "workflow_patterns(tool)": lambda scope: behaviour.workflow_patterns(connection, window, scope),
        "workflow_patterns(task)": lambda scope: behaviour.workflow_patterns(connection, window, scope, kind="task"),
        "compare_periods": lambda scope: compare.compare_periods(connection, window, scope),
        "compare_groups(team)": lambda scope: compare.compare_groups(connection, window, scope, "team", *teams),
        "kpi_values(spend / sessions, by team)": lambda scope: kpi_values(connection, formula, window, scope, "team"),
    }
    rows = []
    for name, run in cases.items():
        for variant, scope in (("all orgs", everyone), (f"org {org}", TenantScope.for_orgs(org))):
            times = []
            for _ in range(options.runs + 1):
                started = time.perf_counter()
                run(scope)
                times.append((time.perf_counter() - started) * 1000)
            measured = np.array(times[1:])  # the first run warms the page cache
            p95 = float(np.percentile(measured, 95))
            rows.append(
                {
                    "reader": name,
                    "variant": variant,
                    "first_ms": round(times[0], 1),
                    "p50_ms": round(float(np.percentile(measured, 50)), 1),
                    "p95_ms": round(p95, 1),
                    "passed": p95 < TARGET_MS,
                }
            )
    connection.close()

    table = Table(title=f"Deep-analytics readers on snapshot {version} ({options.runs} runs, target p95 < 100 ms)")
    for column in ("reader", "variant", "first ms", "p50 ms", "p95 ms", "ok"):
        table.add_column(column, justify="left" if column in ("reader", "variant") else "right")
    for row in rows:
        table.add_row(
            row["reader"],
            row["variant"],
            f"{row['first_ms']:.1f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            "yes" if row["passed"] else "NO",
        )
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "analytics.json").write_text(json.dumps({"home": str(options.home), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
