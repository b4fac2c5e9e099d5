"""Archival by retention on the small generated warehouse (`built_home`, copied): calls and tool calls of acme older
than its `retention.calls_days`, and their raw rows older than `retention.raw_rows_days`, move to Hive-partitioned
Parquet and readers still count them, once.

The sample's calls run from 2026-07-24 to 2026-11-20; with "today" 2026-11-30 and 30 days of both retentions, acme's
calls before 2026-10-31 (1,846 of 2,421) and tool calls (1,628 of 2,094) move, from the marts and from raw. One home
archives (totals, idempotence, reader lock-down, re-ingest, dbt rebuilds); a second one archives and then deletes
alice@acme.example (the privacy delete reaches the archive).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aioa.analytics.filters import Filters
from aioa.analytics.queries import detail_calls
from aioa.archive.run import archive_run
from aioa.archive.snapshot import archived_ranges
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot

TODAY = date(2026, 11, 30)
CUTOFF = date(2026, 10, 31)  # TODAY - 30 days
ORG = "acme"
TOKENS = "input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens"
TOTALS = f"""
select org_id, count(*), sum({TOKENS}), round(sum(cost_usd), 6), count(distinct call_key)
from marts.fct_llm_calls group by org_id order by org_id
"""
ACROSS = f"""
select org_id, count(*), sum({TOKENS}), round(sum(cost_usd), 6)
from marts.fct_llm_calls where day between $start and $end group by org_id order by org_id
"""
DAILY = "select org_id, sum(calls), round(sum(cost_usd), 6) from marts.agg_usage_daily group by 1 order by 1"
TOOLS = """
select org_id, count(*), count(distinct tool_call_key), count(*) filter (where is_mcp),
       count(*) filter (where not success), sum(duration_ms)
from marts.fct_tool_calls group by org_id order by org_id
"""
TOOLS_ACROSS = """
select org_id, mcp_server, mcp_tool, count(*) from marts.fct_tool_calls
where is_mcp and day between $start and $end group by all order by all
"""
TOOL_DAILY = "select org_id, sum(tool_calls), sum(failures) from marts.agg_tool_usage_daily group by 1 order by 1"
RAW = """
select 'llm_calls', org_id, count(*), count(distinct call_key), round(sum(cost_usd), 6) from raw.llm_calls group by all
union all
select 'tool_calls', org_id, count(*), count(distinct tool_call_key), null from raw.tool_calls group by all
order by all
"""
# tables dbt rebuilds from the facts on every run: they must see the archived calls and tool calls too
REBUILT = """
select (select count(*) from marts.dim_projects), (select count(*) from marts.dim_users),
       (select min(date_day) from marts.time_spine_daily), (select sum(tool_calls) from marts.fct_sessions)
"""
MOVED = {"acme": 1846}
MOVED_TOOLS = {"acme": 1628}
ACROSS_RANGE = {"start": date(2026, 10, 15), "end": date(2026, 11, 15)}


def _home(built_home: Path, tmp_path_factory, name: str) -> Settings:
    home = tmp_path_factory.mktemp(name) / "home"
    shutil.copytree(built_home, home)
    settings = Settings(home=home)
    from aioa.identity.principal import local_operator
    from aioa.tenants.settings_doc import update_tenant_settings

    retention = {"calls_days": 30, "raw_rows_days": 30}
    update_tenant_settings(settings, ORG, {"retention": retention}, actor=local_operator())
    return settings


def _read(settings: Settings) -> dict:
    connection, version = open_snapshot(settings)
    try:
        scope = TenantScope.for_orgs(ORG)
        drill = detail_calls(connection, Filters(ACROSS_RANGE["start"], ACROSS_RANGE["end"]), scope, limit=100_000)
        return {
            "version": version,
            "totals": connection.execute(TOTALS).fetchall(),
            "across": connection.execute(ACROSS, ACROSS_RANGE).fetchall(),
            "daily": connection.execute(DAILY).fetchall(),
            "tools": connection.execute(TOOLS).fetchall(),
            "tools_across": connection.execute(TOOLS_ACROSS, ACROSS_RANGE).fetchall(),
            "tool_daily": connection.execute(TOOL_DAILY).fetchall(),
            "raw": connection.execute(RAW).fetchall(),
            "rebuilt": connection.execute(REBUILT).fetchall(),
            "drill": (len(drill), round(float(drill["cost_usd"].sum()), 6)),
            "ranges": archived_ranges(connection, scope),
            "other_org_ranges": archived_ranges(connection, TenantScope.for_orgs("globex")),
        }
    finally:
        connection.close()


def _kept(settings: Settings) -> dict[str, int]:
    """acme's rows the warehouse itself still holds, per archived table."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return {
            table: connection.execute(f"select count(*) from {table} where org_id = ?", [ORG]).fetchall()[0][0]
            for table in ("marts.fct_llm_calls", "marts.fct_tool_calls", "raw.llm_calls", "raw.tool_calls")
        }


def _archive_files(settings: Settings) -> dict[str, str]:
    root = settings.home / "archive"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def settings(built_home: Path, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AIOA_DATABASE_URL", raising=False)
        patch.delenv("AIOA_ARCHIVE_URL", raising=False)
        settings = _home(built_home, tmp_path_factory, "archive")
        patch.setenv("AIOA_HOME", str(settings.home))
        yield settings


@pytest.fixture(scope="module")
def runs(settings: Settings) -> dict:
    """Reads before archival, the dry run, the run, reads after, then a second run and reads after it."""
    before = _read(settings)
    dry = archive_run(settings, dry_run=True, today=TODAY)
    files_after_dry = _archive_files(settings)
    first = archive_run(settings, today=TODAY)
    after = _read(settings)
    files = _archive_files(settings)
    second = archive_run(settings, today=TODAY)
    return {
        "before": before,
        "dry": dry,
        "files_after_dry": files_after_dry,
        "first": first,
        "after": after,
        "files": files,
        "second": second,
        "after_second": _read(settings),
        "files_after_second": _archive_files(settings),
    }


def test_archival_then_query_across_the_boundary_returns_the_same_totals(runs: dict, settings: Settings) -> None:
    before, after = runs["before"], runs["after"]
    assert runs["first"].calls == MOVED
    assert runs["first"].rows == {
        "marts.fct_llm_calls": MOVED,
        "marts.fct_tool_calls": MOVED_TOOLS,
        "raw.llm_calls": MOVED,
        "raw.tool_calls": MOVED_TOOLS,
    }
    assert runs["first"].cutoffs == runs["first"].raw_cutoffs == {ORG: CUTOFF.isoformat()}
    assert after["version"] != before["version"]
    assert after["totals"] == before["totals"]  # every org: calls, tokens, cost, distinct calls
    assert after["across"] == before["across"]  # 2026-10-15 .. 2026-11-15 spans the boundary
    assert after["drill"] == before["drill"]  # the app's drill-down (data-access layer, tenant scope)
    assert after["daily"] == before["daily"]  # aggregates are never archived
    acme = dict((row[0], row[1]) for row in before["totals"])[ORG]
    assert acme == 2421
    # the warehouse itself no longer holds them: 1,846 of acme's calls are only in the archive
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        left = connection.execute("select count(*) from marts.fct_llm_calls where org_id = 'acme'").fetchone()[0]
        oldest = connection.execute("select min(day) from marts.fct_llm_calls where org_id = 'acme'").fetchone()[0]
    assert left == 2421 - 1846
    assert oldest >= CUTOFF


def test_tool_calls_and_raw_rows_read_the_same_across_the_boundary(runs: dict, settings: Settings) -> None:
    before, after = runs["before"], runs["after"]
    acme_tools = next(row for row in before["tools"] if row[0] == ORG)
    assert acme_tools[:4] == (ORG, 2094, 2094, 519)  # tool calls, distinct, MCP
    assert after["tools"] == before["tools"]  # every org: count, distinct, MCP, failures, duration
    assert after["tools_across"] == before["tools_across"]  # MCP tools per server, 2026-10-15 .. 2026-11-15
    assert sum(row[3] for row in before["tools_across"]) > 0
    assert after["tool_daily"] == before["tool_daily"]
    assert after["raw"] == before["raw"]  # raw rows (the usage reports, billing and rules read them) per org
    assert next(row for row in after["raw"] if row[:2] == ("llm_calls", ORG))[:4] == ("llm_calls", ORG, 2421, 2421)
    assert _kept(settings) == {
        "marts.fct_llm_calls": 2421 - 1846,
        "marts.fct_tool_calls": 2094 - 1628,
        "raw.llm_calls": 2421 - 1846,
        "raw.tool_calls": 2094 - 1628,
    }


def test_the_archive_is_hive_partitioned_by_org_and_month(runs: dict) -> None:
    tables = ("marts/fct_llm_calls", "marts/fct_tool_calls", "raw/llm_calls", "raw/tool_calls")
    months = ("2026-07", "2026-08", "2026-09", "2026-10")
    assert runs["first"].partitions_written == [
        f"{table}/org=acme/month={month}" for table in tables for month in months
    ]
    assert all(name.startswith(tuple(f"{table}/org=acme/month=2026-" for table in tables)) for name in runs["files"])


def test_the_reader_says_which_range_comes_from_the_archive(runs: dict) -> None:
    assert runs["before"]["ranges"] == []
    assert runs["after"]["ranges"] == [(ORG, date(2026, 7, 24), date(2026, 10, 30), 1846)]
    assert runs["after"]["other_org_ranges"] == []  # another tenant does not see acme's archive


def test_dry_run_counts_and_changes_nothing(runs: dict) -> None:
    assert runs["dry"].calls == MOVED and runs["dry"].rows["raw.tool_calls"] == MOVED_TOOLS
    assert runs["dry"].partitions_written == [] and runs["dry"].snapshot_version is None
    assert runs["files_after_dry"] == {}


def test_archiving_twice_changes_nothing(runs: dict) -> None:
    assert runs["second"].rows == {} and runs["second"].snapshot_version is None
    assert runs["files_after_second"] == runs["files"]
    for read in ("totals", "tools", "raw", "tool_daily"):
        assert runs["after_second"][read] == runs["before"][read]


def test_a_rebuild_then_a_rerun_counts_each_call_once(runs: dict, settings: Settings) -> None:
    """A full refresh rebuilds the archived calls from raw into the warehouse: readers count them once, and the
    next run moves them again, replacing (not adding to) the archived copies."""
    from aioa.warehouse.connection import connect

    connection = connect(settings)
    try:  # what a full refresh does to the table: every call of raw back in the warehouse
        connection.execute(
            "insert into marts.fct_llm_calls select * exclude (org, month) from read_parquet(?, hive_partitioning = true)",
            [str(settings.home / "archive" / "marts" / "fct_llm_calls" / "**" / "*.parquet")],
        )
    finally:
        connection.close()
    from aioa.warehouse.snapshots import publish_snapshot

    publish_snapshot(settings)
    assert _read(settings)["totals"] == runs["before"]["totals"]
    again = archive_run(settings, today=TODAY)
    assert again.rows == {"marts.fct_llm_calls": MOVED}  # only what came back moves again
    assert _read(settings)["totals"] == runs["before"]["totals"]
    with duckdb.connect() as connection:
        rows = connection.execute(
            "select count(*), count(distinct call_key) from read_parquet(?)",
            [str(settings.home / "archive" / "marts" / "fct_llm_calls" / "**" / "*.parquet")],
        ).fetchone()
    assert rows == (1846, 1846)


def test_reading_the_logs_again_does_not_bring_archived_lines_back(
    runs: dict, settings: Settings, sample_dir: Path
) -> None:
    """The manifest forgets the Claude Code files (as after a privacy delete, or a file rewritten in place) and
    they are ingested again: the lines whose rows are archived are recognised by their keys in the archive."""
    from aioa.ingest.registry import BY_NAME
    from aioa.ingest.runner import ingest

    kept = _kept(settings)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("delete from raw.ingest_manifest where source_system = 'claude_code'")
    paths = sorted(sample_dir.glob("claude-code/*/.claude"))
    summary = ingest(BY_NAME["claude_code"].source(), paths, settings, publish=False)
    assert summary.files_read > 0 and summary.lines_read > 0  # the files were really read again
    assert summary.rows_added == {"llm_calls": 0, "tool_calls": 0}
    assert summary.rows_updated == {"llm_calls": 0, "tool_calls": 0}
    assert _kept(settings) == kept  # nothing archived came back into raw


def test_dbt_rebuilds_see_the_archived_rows(runs: dict, settings: Settings) -> None:
    """The tables dbt rebuilds from the facts on every run (dimensions, tool aggregates, sessions) and the
    reconciliation tests against raw read the archive too (the `with_archive` macro): a rebuild after archival
    changes no number."""
    from aioa.warehouse.dbt.runner import run_dbt
    from aioa.warehouse.snapshots import publish_snapshot

    result = run_dbt(
        settings,
        "build",
        "--select",
        "stg_raw__llm_calls stg_raw__tool_calls agg_tool_usage_daily dim_projects dim_users time_spine_daily",
        "assert_facts_reconcile_with_raw assert_llm_call_totals_reconcile assert_usage_reconciles_per_day",
    )
    assert result.ok, (result.failures, result.log_tail)
    assert result.counts.get("pass", 0) >= 3
    publish_snapshot(settings)
    after = _read(settings)
    for read in ("totals", "tools", "tool_daily", "raw", "rebuilt"):
        assert after[read] == runs["before"][read], read
    assert _kept(settings)["marts.fct_tool_calls"] == 2094 - 1628  # the rebuild moved nothing back


def test_readers_may_read_the_archive_but_not_write_it_or_leave_it(runs: dict, settings: Settings) -> None:
    connection, _ = open_snapshot(settings)
    try:
        attempts = [
            "copy (select 1 as x) to 'aioaarchive://planted.parquet' (format parquet)",
            "copy (select 1 as x) to 'aioaarchive://marts/fct_llm_calls/org=acme/month=2026-07/data_0.parquet'",
            "select * from read_csv('aioaarchive://../warehouse.duckdb')",
            f"select * from read_csv('{settings.home / 'attribution.yaml'}')",
            "set allowed_directories = ['/']",
        ]
        for sql in attempts:
            with pytest.raises(duckdb.Error):
                connection.execute(sql)
    finally:
        connection.close()
    assert _archive_files(settings).keys() == runs["files"].keys()


def test_cli_dry_run_json(runs: dict, settings: Settings) -> None:
    from aioa.cli import app

    result = CliRunner().invoke(app, ["archive", "run", "--org", ORG, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert report["cutoffs"] == {ORG: report["cutoffs"][ORG]}  # cutoff from the real date: 30 days back
    assert report["total_calls"] == sum(report["calls"].values())


def test_the_usage_report_says_when_the_range_comes_from_the_archive(runs: dict, settings: Settings) -> None:
    """`aioa report usage` reads raw calls: it names the days that come from their archive (raw_rows_days)."""
    from aioa.cli import app

    def report(since: str) -> str:
        result = CliRunner().invoke(app, ["report", "usage", "daily", "--since", since, "--org", ORG])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())  # the console wraps long lines

    notice = "* calls of acme up to 2026-10-30 (1,846) come from the archive (Parquet, by retention)."
    assert notice in report("2026-10-01")
    assert "archive" not in report("2026-11-01")  # after the boundary


def test_the_app_says_when_the_range_comes_from_the_archive(runs: dict, settings: Settings, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("AIOA_AUTH", "off")  # the one local operator: every org

    from aioa.settings import PROJECT_ROOT

    def sidebar_captions(start: str) -> list[str]:
        app = AppTest.from_file(str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py"), default_timeout=90)
        app.query_params.update({"start": start, "end": "2026-11-20"})
        app.run()
        assert not app.exception, [item.value for item in app.exception]
        return [item.value for item in app.sidebar.caption]

    notice = "Calls of acme up to 2026-10-30 (1,846) come from the archive (Parquet, by retention)."
    assert notice in sidebar_captions("2026-10-01")
    assert not any("archive" in caption for caption in sidebar_captions("2026-11-01"))  # after the boundary


def test_a_snapshot_restored_as_the_warehouse_gets_its_table_back(runs: dict, settings: Settings, tmp_path) -> None:
    from aioa.archive.snapshot import snapshot_to_warehouse
    from aioa.warehouse.snapshots import current_snapshot

    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(current_snapshot(settings)[1], copy)
    snapshot_to_warehouse(copy)
    with duckdb.connect(str(copy), read_only=True) as connection:
        kinds = connection.execute(
            "select table_name, table_type from information_schema.tables where table_schema = 'marts'"
            " and table_name in ('fct_llm_calls', 'fct_llm_calls_retained', 'archive_ranges')"
        ).fetchall()
        raw_kinds = connection.execute(
            "select table_name, table_type from information_schema.tables where table_schema = 'raw'"
            " and table_name like '%calls%' order by 1"
        ).fetchall()
        acme = connection.execute("select count(*) from marts.fct_llm_calls where org_id = 'acme'").fetchall()
    assert kinds == [("fct_llm_calls", "BASE TABLE")]
    assert raw_kinds == [("llm_calls", "BASE TABLE"), ("tool_calls", "BASE TABLE")]
    assert acme == [(2421 - 1846,)]  # the archived calls stay in the archive
