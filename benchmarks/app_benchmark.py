"""App benchmark: every query the dashboard pages run, timed on a published snapshot (p50/p95 over N runs, target
p95 < 100 ms), then each page's first full render with cold caches (streamlit AppTest, target < 2 s).

The query list is taken from the pages themselves (`loaders.<name>(…)` calls in apps/dashboard/app_pages/ and in the
dashboard modules they import: page_kit's for every page, drilldown's, widgets' …): a page query this script has no
case for stops the run, so the benchmark cannot silently miss one. Each case runs the loader's own function
(apps/dashboard/loaders.py, its Streamlit cache bypassed) on the snapshot's locked-down reader, as the app does.
Each query runs with the pages' default filters (last 30 days, all orgs) and with one org, one project and one model
picked; a query without filters for all orgs and for one org's app.

    uv run python benchmarks/app_benchmark.py --home /work/bench/pipeline-large/home

Prints a table and writes benchmarks/results/app.json. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import inspect
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
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "apps" / "dashboard"
PAGES_DIR = DASHBOARD / "app_pages"
APP = DASHBOARD / "streamlit_app.py"
EVERY_PAGE = "page_kit"  # the module that prepares every page (snapshot check, sidebar filters)
# Loaders the pages call that this benchmark does not time, and why (a deliberate choice, not a missing case).
NOT_TIMED = {"server_version": "server mode only (PostgreSQL); this benchmark reads a DuckDB snapshot"}
RESULTS = ROOT / "benchmarks" / "results"
QUERY_TARGET_MS = 100.0
PAGE_TARGET_S = 2.0
ASK_QUESTIONS = ("spend by org", "top 5 projects by spend last month")  # the Ask page runs what the user types

# Keyword arguments each page passes besides version, filters, scope and home (read from the page source, its
# defaults first); a list means the page offers each of them. "<…>" stands for a value picked from the data.
PAGE_KWARGS: dict[str, list[dict]] = {
    "filter_options": [{}],
    "marts_built": [{}],
    "archived_ranges": [{}],
    "latest_pipeline_run": [{}],
    "calls_behind": [
        {"drill": (("project", "<top project>"),), "page": 0, "page_size": 50},
        {"drill": (("day", "<last day>"), ("org", "<top org>")), "page": 0, "page_size": 50},
    ],
    "recommendations": [{}],
    "quarantine_reasons": [{}],
    "report": [{"template_json": "<first built-in report>"}],
    "report_html": [{"template_json": "<first built-in report>"}],
    "mcp_live_status": [{}],
    "mcp_tool_performance": [{"by": ()}],
    "mcp_tool_recommendations": [{}],
    "behaviour_by": [{"dimension": "team"}, {"dimension": "user"}],
    "active_hours": [{"member": None}, {"member": ("team", "<first team>")}],
    "models_used": [{"dimension": "team"}],
    "tools_used": [{"dimension": "team"}],
    "project_phases": [{}],
    "workflow_patterns": [
        {"kind": "tool", "lengths": (2, 3), "min_sessions": 5},
        {"kind": "task", "lengths": (2, 3), "min_sessions": 5},
    ],
    "compare_periods": [{}],
    "compare_groups": [{"group": "team", "first": "<first team>", "second": "<second team>"}],
    "kpi_values": [{"formula": "spend / sessions", "by": None}, {"formula": "100 * error_calls / calls", "by": "team"}],
    "kpis": [{}],
    "daily_usage": [{"by": "org"}],
    "spend_by": [{"dimension": name} for name in ("project", "org", "team", "user", "model", "day")],
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
    """Loader name → the pages that call it: `loaders.<name>(` in a page file or in a dashboard module the page
    imports (directly or through another); page_kit's loaders run on every page."""
    sources = {path.stem: path.read_text() for path in DASHBOARD.glob("*.py") if path.stem != "loaders"}
    pages = {path.stem: path.read_text() for path in sorted(PAGES_DIR.glob("*.py"))}

    def reached(text: str, seen: set[str]) -> set[str]:
        for module in re.findall(r"^\s*(?:import|from) (\w+)", text, flags=re.MULTILINE):
            if module in sources and module not in seen:
                seen.add(module)
                reached(sources[module], seen)
        return seen

    def called(text: str) -> set[str]:
        return set(re.findall(r"\bloaders\.(\w+)\(", text))

    used: dict[str, list[str]] = {name: ["all pages"] for name in sorted(called(sources[EVERY_PAGE]))}
    for page, text in pages.items():
        names = called(text).union(*(called(sources[module]) for module in reached(text, set())))
        for name in sorted(names):
            if used.get(name) != ["all pages"]:
                used.setdefault(name, []).append(page)
    return used


def build_cases(version: str, raw_connection, used: dict[str, list[str]]) -> list[Case]:
    from aioa.analytics import Filters
    from aioa.reports.render.templates import BUILTIN
    from aioa.warehouse.access import TenantScope

    loaders = _loaders()
    pages_text = "".join(path.read_text() for path in PAGES_DIR.glob("*.py"))
    PAGE_KWARGS["ml_table"] = [
        {"table": name} for name in sorted(set(re.findall(r"""loaders\.ml_table\(.*?["'](\w+)["']\)""", pages_text)))
    ]
    missing = sorted(set(used) - set(PAGE_KWARGS) - set(NOT_TIMED))
    if missing:
        raise SystemExit(f"pages call data functions this benchmark has no case for: {', '.join(missing)}")
    everyone = TenantScope.all_orgs()
    options = loaders.filter_options.__wrapped__(version, everyone)
    last = options["last_day"]
    default = Filters(max(options["first_day"], last - timedelta(days=29)), last)  # the pages' default window
    top = {
        dimension: _top(loaders.spend_by.__wrapped__(version, default, everyone, dimension))
        for dimension in ("org", "project", "model")
    }
    picked = {
        "<top project>": top["project"],
        "<top org>": top["org"],
        "<last day>": str(last),
        "<first team>": options["teams"][0] if options["teams"] else "",
        "<second team>": options["teams"][1] if len(options["teams"]) > 1 else "",
        "<first built-in report>": next(iter(BUILTIN.values())).model_dump_json(),
    }
    variants = {
        "30 days, all orgs": default,
        f"org {top['org']}": Filters(default.start, default.end, orgs=(top["org"],)),
        f"project {top['project']}": Filters(default.start, default.end, projects=(top["project"],)),
        f"model {top['model']}": Filters(default.start, default.end, models=(top["model"],)),
    }
    scopes = {"all orgs": everyone, f"app for org {top['org']}": TenantScope.for_orgs(top["org"])}
    given = {"version": version, "home": str(_home())}

    cases = []
    for name, pages in sorted(used.items()):
        if name in NOT_TIMED:
            continue
        function = getattr(loaders, name).__wrapped__  # the loader's own code, without Streamlit's cache
        arguments = set(inspect.signature(function).parameters)
        for index, kwargs in enumerate(PAGE_KWARGS[name]):
            kwargs = {key: _pick(value, picked) for key, value in kwargs.items()}
            raw = PAGE_KWARGS[name][index]  # a template's JSON is shown by its placeholder
            shown = ", ".join(
                f"{key}={raw[key] if key == 'template_json' else value}"
                for key, value in kwargs.items()
                if value is not None
            )
            label = f"{name}({shown})"
            fixed = {key: value for key, value in given.items() if key in arguments}
            if "filters" in arguments:
                # the first of a loader's choices (and a project drill) with every variant, the others as shown
                extra = (
                    variants if index == 0 or kwargs.get("dimension") == "project" else {"30 days, all orgs": default}
                )
                for variant, filters in extra.items():
                    bound = {**fixed, "filters": filters, "scope": everyone, **kwargs}
                    cases.append(Case(label, variant, pages, _bind(function, bound)))
            elif "scope" in arguments:
                for variant, scope in scopes.items():
                    cases.append(Case(label, variant, pages, _bind(function, {**fixed, "scope": scope, **kwargs})))
            else:
                cases.append(Case(label, "operator", pages, _bind(function, {**fixed, **kwargs})))
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


def _loaders():
    """apps/dashboard/loaders.py, imported as the app does (its directory on the path), without the cache warnings."""
    import sys

    from streamlit.logger import set_log_level

    set_log_level("error")  # st.cache_* outside a server warns once per decorated function
    if str(DASHBOARD) not in sys.path:
        sys.path.insert(0, str(DASHBOARD))
    import loaders

    return loaders


def _home() -> Path:
    return Path(os.environ["AIOA_HOME"])


def _pick(value, picked: dict[str, str]):
    """A kwarg with its "<…>" placeholders replaced by the values picked from the data (also inside tuples)."""
    if isinstance(value, tuple):
        return tuple(_pick(item, picked) for item in value)
    return picked.get(value, value) if isinstance(value, str) else value


def _top(frame) -> str:
    return str(frame.iloc[0, 0])


def _bind(function, kwargs: dict) -> Callable[[], object]:
    """The query exactly as the page's loader call runs it. A loader that calls another (report_html → report) finds
    that one cached, as on the page, which called it first."""
    return lambda: function(**kwargs)


def _rows(result) -> int | None:
    if isinstance(result, tuple) and result and isinstance(result[0], pd.DataFrame):
        result = result[0]  # (one page of rows, their total)
    return len(result) if isinstance(result, pd.DataFrame | list) else None


def time_cases(cases: list[Case], runs: int) -> None:
    for case in cases:
        for _ in range(runs + 1):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = case.run()
            case.times_ms.append((time.perf_counter() - started) * 1000)
            case.cpu_ms.append((time.process_time() - cpu_started) * 1000)
        case.rows = _rows(result)


def time_pages(home: Path, runs: int) -> tuple[float, list[dict]]:
    """Seconds of a first render in a fresh process (imports included), then per page `runs` cold-cache renders."""
    import streamlit as st
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    set_log_level("error")  # AppTest outside a server warns on every cache clear

    os.environ["AIOA_HOME"] = str(home)
    os.environ["AIOA_AUTH"] = "off"  # the one local operator (every org), as tests/apps render pages; else: sign-in
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

    os.environ["AIOA_HOME"] = str(args.home)  # the loaders read the snapshot of the app's home
    connection, version = open_snapshot(Settings(home=args.home))
    calls, usage_rows = connection.execute(
        "select (select count(*) from marts.fct_llm_calls), (select count(*) from marts.agg_usage_daily)"
    ).fetchone()
    used = page_queries()
    cases = build_cases(version, connection, used)
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

    not_timed = {name: reason for name, reason in NOT_TIMED.items() if name in used}
    for name, reason in not_timed.items():
        console.print(f"not timed: {name} ({reason})")
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
                "not_timed": not_timed,
            },
            indent=2,
            default=str,
        )
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
