"""App benchmark: every query the dashboard pages run, timed on a published snapshot (p50/p95 over N runs, target
p95 < 100 ms), then each page's first full render with cold caches (streamlit AppTest, target < 2 s).

The query list is taken from the pages themselves (`loaders.<name>(…)` calls in apps/dashboard/app_pages/, plus the
loaders the entrypoint calls for every page): a page query this script has no case for stops the run, so the
benchmark cannot silently miss one. Each case times the loader's query exactly as the loader calls it (through the
snapshot's timed reader), without Streamlit's cache. Each query runs with the
pages' default filters (last 30 days, all orgs) and with one org, one project and one model picked.

    uv run python benchmarks/app_benchmark.py --home /work/bench/pipeline-large/home

Prints a table and writes benchmarks/results/app.json. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
PAGES_DIR = ROOT / "apps" / "dashboard" / "app_pages"
APP = ROOT / "apps" / "dashboard" / "streamlit_app.py"
# Loaders the entrypoint calls before a page runs (`page_kit.prepare_page_context`): the snapshot check on every
# page, the filter choices on pages with the sidebar filters.
ENTRYPOINT_LOADERS = {"marts_built": "all pages", "filter_options": "filtered pages"}
RESULTS = ROOT / "benchmarks" / "results"
QUERY_TARGET_MS = 100.0
PAGE_TARGET_S = 2.0
ASK_QUESTIONS = ("spend by org", "top 5 projects by spend last month")  # the Ask page runs what the user types

# Keyword arguments each page passes (read from the page source); a list means the page offers each of them.
PAGE_KWARGS: dict[str, list[dict]] = {
    "filter_options": [{}],
    "marts_built": [{}],
    "kpis": [{}],
    "daily_usage": [{"by": "org"}],
    "spend_by": [{"dimension": name} for name in ("project", "org", "team", "user", "model", "day")],
    "detail_calls": [{"dimension": None, "value": None}, {"dimension": "project", "value": "<top project>"}],
    "projects_overview": [{}],
    "project_lifecycle": [{}],
    "sessions_timeline": [{}],
    "handoff_summary": [{}],
    "handoff_task_types": [{}],
    "mcp_tools": [{}],
    "ml_table": [],  # one case per table name the pages pass (read from the page files)
    "latest_quality_checks": [{}],
    "quarantined_input": [{}],
    "recent_model_usage": [{}],
    "spend_vs_budget": [{}],
    "token_mix": [{"dimension": "project"}],
}


@dataclass
class Case:
    label: str
    variant: str
    pages: list[str]
    run: Callable[[], object]
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # process CPU (all DuckDB threads): shows contention
    rows: int | None = None

    def summary(self) -> dict:
        times = np.array(self.times_ms[1:])  # the first run (cold page cache) is reported, not counted
        return {
            "query": self.label,
            "variant": self.variant,
            "pages": self.pages,
            "runs": len(times),
            "first_ms": round(self.times_ms[0], 2),
            "p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
            "cpu_p50_ms": round(float(np.percentile(self.cpu_ms[1:], 50)), 2),
            "rows": self.rows,
            "passed": bool(np.percentile(times, 95) < QUERY_TARGET_MS),
        }


def page_queries() -> dict[str, list[str]]:
    """Loader name → the pages that call it (from the `loaders.<name>(` calls in the page files and the entrypoint)."""
    used: dict[str, list[str]] = {name: [pages] for name, pages in ENTRYPOINT_LOADERS.items()}
    for page in sorted(PAGES_DIR.glob("*.py")):
        for name in sorted(set(re.findall(r"\bloaders\.(\w+)\(", page.read_text()))):
            used.setdefault(name, []).append(page.stem)
    return used


def build_cases(connection, used: dict[str, list[str]]) -> list[Case]:
    from aioa import analytics
    from aioa.analytics import Filters
    from aioa.settings import get_settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.connection import TimedReader

    raw_connection = connection
    connection = TimedReader(raw_connection, get_settings().reader_statement_timeout_s)  # as the loaders read

    pages_text = "".join(path.read_text() for path in PAGES_DIR.glob("*.py"))
    PAGE_KWARGS["ml_table"] = [
        {"table": name} for name in sorted(set(re.findall(r"""loaders\.ml_table\(.*?["'](\w+)["']\)""", pages_text)))
    ]
    missing = sorted(set(used) - set(PAGE_KWARGS))
    if missing:
        raise SystemExit(f"pages call data functions this benchmark has no case for: {', '.join(missing)}")
    everyone = TenantScope.all_orgs()
    options = analytics.filter_options(connection, everyone)
    last = options["last_day"]
    default = Filters(max(options["first_day"], last - timedelta(days=29)), last)  # the pages' default window
    top = {
        dimension: _top(analytics.spend_by(connection, default, everyone, dimension))
        for dimension in ("org", "project", "model")
    }
    variants = {
        "30 days, all orgs": default,
        f"org {top['org']}": Filters(default.start, default.end, orgs=(top["org"],)),
        f"project {top['project']}": Filters(default.start, default.end, projects=(top["project"],)),
        f"model {top['model']}": Filters(default.start, default.end, models=(top["model"],)),
    }

    cases = []
    for name, pages in sorted(used.items()):
        if name == "marts_built":
            cases.append(
                Case(
                    "marts_built()",
                    "operator",
                    pages,
                    lambda: analytics.table_exists(raw_connection, "marts", "agg_usage_daily"),
                )
            )
            continue
        function = getattr(analytics, name)
        arguments = function.__code__.co_varnames[: function.__code__.co_argcount]
        for kwargs in PAGE_KWARGS[name]:
            kwargs = {key: top["project"] if value == "<top project>" else value for key, value in kwargs.items()}
            shown = ", ".join(f"{key}={value}" for key, value in kwargs.items() if value is not None)
            label = f"{name}({shown})"
            if "filters" in arguments:
                # spend_by offers six dimensions; the filtered variants are timed for its default (project)
                extra = variants if kwargs.get("dimension") in (None, "project") else {"30 days, all orgs": default}
                for variant, filters in extra.items():
                    cases.append(Case(label, variant, pages, _bind(function, connection, filters, everyone, kwargs)))
            elif "scope" in arguments:
                for variant, scope in (
                    ("all orgs", everyone),
                    (f"app for org {top['org']}", TenantScope.for_orgs(top["org"])),
                ):
                    cases.append(Case(label, variant, pages, _bind(function, connection, None, scope, kwargs)))
            else:
                cases.append(Case(label, "operator", pages, _bind(function, connection, None, None, kwargs)))
    from aioa.ask import ask

    for question in ASK_QUESTIONS:
        cases.append(
            Case(
                f'ask("{question}")',
                "all orgs",
                ["ask"],
                lambda question=question: ask(question, everyone, connection=raw_connection).rows,
            )
        )
    return cases


def _top(frame) -> str:
    return str(frame.iloc[0, 0])


def _bind(function, connection, filters, scope, kwargs) -> Callable[[], object]:
    """The query exactly as its loader (apps/dashboard/loaders.py) calls it."""
    if filters is not None:
        return lambda: function(connection, filters, scope, **kwargs)
    if scope is not None:
        return lambda: function(connection, scope, **kwargs)
    return lambda: function(connection, **kwargs)


def time_cases(cases: list[Case], runs: int) -> None:
    for case in cases:
        for _ in range(runs + 1):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = case.run()
            case.times_ms.append((time.perf_counter() - started) * 1000)
            case.cpu_ms.append((time.process_time() - cpu_started) * 1000)
        case.rows = len(result) if hasattr(result, "__len__") and not isinstance(result, dict) else None


def time_pages(home: Path, runs: int) -> tuple[float, list[dict]]:
    """Seconds of a first render in a fresh process (imports included), then per page `runs` cold-cache renders."""
    import streamlit as st
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    set_log_level("error")  # AppTest outside a server warns on every cache clear

    os.environ["AIOA_HOME"] = str(home)
    os.environ.pop("AIOA_APP_ORGS", None)

    def render(page: str) -> tuple[float, float, AppTest]:
        st.cache_data.clear()  # a first visit: no cached query results, a fresh snapshot connection
        st.cache_resource.clear()
        app = AppTest.from_file(str(APP), default_timeout=120)
        if page != "overview":
            app.switch_page(f"app_pages/{page}.py")
        started, cpu_started = time.perf_counter(), time.process_time()
        app.run()
        return time.perf_counter() - started, time.process_time() - cpu_started, app

    process_first, _, _ = render("overview")
    results = []
    for page in sorted(path.stem for path in PAGES_DIR.glob("*.py")):
        seconds, cpu_seconds, shown = [], [], None
        for _ in range(runs):
            elapsed, cpu, app = render(page)
            seconds.append(elapsed)
            cpu_seconds.append(cpu)
            if app.exception:
                raise SystemExit(f"page {page} raised: {[item.value for item in app.exception]}")
            shown = app.title[0].value if app.title else (app.info[0].value[:60] if app.info else "")
        median = statistics.median(seconds)
        results.append(
            {
                "page": page,
                "seconds": [round(value, 3) for value in seconds],
                "median_s": round(median, 3),
                "max_s": round(max(seconds), 3),
                "cpu_median_s": round(statistics.median(cpu_seconds), 3),
                "shows": shown,
                "passed": median < PAGE_TARGET_S,
            }
        )
    return process_first, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("AIOA_HOME", ROOT / "data")),
        help="AIOA_HOME whose published snapshot is read (default: $AIOA_HOME or data/).",
    )
    parser.add_argument("--runs", type=int, default=20, help="Timed repetitions per query (after one cold run).")
    parser.add_argument("--page-runs", type=int, default=3, help="Cold-cache renders per page (0: skip pages).")
    parser.add_argument("--out", type=Path, default=RESULTS / "app.json")
    args = parser.parse_args()

    from aioa.settings import Settings
    from aioa.warehouse.snapshots import open_snapshot

    connection, version = open_snapshot(Settings(home=args.home))
    calls, usage_rows = connection.execute(
        "select (select count(*) from marts.fct_llm_calls), (select count(*) from marts.agg_usage_daily)"
    ).fetchone()
    cases = build_cases(connection, page_queries())
    time_cases(cases, args.runs)
    connection.close()
    queries = [case.summary() for case in cases]

    console = Console(width=max(Console().width, 170))
    table = Table(
        title=f"app queries: snapshot {version}, {calls:,} calls, {usage_rows:,} daily usage rows, "
        f"{args.runs} runs each"
    )
    for column in (
        "query",
        "variant",
        "pages",
        "rows",
        "first ms",
        "p50 ms",
        "p95 ms",
        "CPU p50 ms",
        f"p95 < {QUERY_TARGET_MS:.0f}",
    ):
        table.add_column(column, justify="left" if column in ("query", "variant", "pages") else "right")
    for row in queries:
        table.add_row(
            escape(row["query"]),
            escape(row["variant"]),
            ",".join(row["pages"]),
            "" if row["rows"] is None else f"{row['rows']:,}",
            f"{row['first_ms']:.1f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            f"{row['cpu_p50_ms']:.1f}",
            "[green]pass[/]" if row["passed"] else "[red]FAIL[/]",
        )
    console.print(table)

    pages, process_first = [], None
    if args.page_runs:
        process_first, pages = time_pages(args.home, args.page_runs)
        page_table = Table(
            title=f"first full render per page (cold caches, {args.page_runs} renders each; the "
            f"process's very first render, imports included: {process_first:.2f} s)"
        )
        for column in (
            "page",
            "shows",
            "renders s",
            "median s",
            "max s",
            "CPU median s",
            f"median < {PAGE_TARGET_S:.0f} s",
        ):
            page_table.add_column(column, justify="left" if column in ("page", "shows", "renders s") else "right")
        for row in pages:
            page_table.add_row(
                row["page"],
                escape(row["shows"]),
                " ".join(f"{value:.2f}" for value in row["seconds"]),
                f"{row['median_s']:.2f}",
                f"{row['max_s']:.2f}",
                f"{row['cpu_median_s']:.2f}",
                "[green]pass[/]" if row["passed"] else "[red]FAIL[/]",
            )
        console.print(page_table)

    failed = [f"{row['query']} [{row['variant']}]" for row in queries if not row["passed"]]
    failed += [f"page {row['page']}" for row in pages if not row["passed"]]
    console.print(
        f"{len(queries)} queries, {len(pages)} pages; "
        + (
            f"[red]{len(failed)} over target[/]: {escape('; '.join(failed))}"
            if failed
            else "[green]all within target[/]"
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "home": str(args.home),
                "snapshot": version,
                "calls": calls,
                "agg_usage_daily_rows": usage_rows,
                "runs": args.runs,
                "cpu_count": os.cpu_count(),
                "load_average": os.getloadavg(),
                "query_target_p95_ms": QUERY_TARGET_MS,
                "page_target_s": PAGE_TARGET_S,
                "queries": queries,
                "process_first_render_s": process_first,
                "pages": pages,
                "over_target": failed,
            },
            indent=2,
            default=str,
        )
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
