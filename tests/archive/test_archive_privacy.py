"""The privacy export and delete reach the archive: alice@acme.example's archived calls, tool calls and raw rows are
exported, then rewritten pseudonymised (raw rows brought back into raw for the delete's transaction, the marts
rebuilt from them, each partition rewritten), and every total stays what it was.

Its own copy of `built_home` (the deletion rebuilds the marts through the pipeline job): acme keeps 30 days of calls
and raw rows, so 1,846 of its 2,421 calls and 1,628 of its 2,094 tool calls are archived first, in the marts and in
raw (see test_archive.py for the dates).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from aioa.archive.run import archive_run
from aioa.privacy.delete import delete_subject
from aioa.privacy.subjects import pseudonym
from aioa.settings import Settings
from aioa.warehouse.snapshots import open_snapshot

EMAIL, USER_ID, ORG = "alice@acme.example", "alice", "acme"
TODAY = date(2026, 11, 30)
TOKENS = "input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens"
TOTALS = f"""
select org_id, count(*), sum({TOKENS}), round(sum(cost_usd), 6)
from marts.fct_llm_calls group by org_id order by org_id
"""


ARCHIVED = ("marts/fct_llm_calls", "marts/fct_tool_calls", "raw/llm_calls", "raw/tool_calls")


def _archive(settings: Settings, table: str = "marts/fct_llm_calls") -> str:
    return str(settings.home / "archive" / table / "**" / "*.parquet")


def _archived(settings: Settings, sql: str, params: list | None = None, table: str = "marts/fct_llm_calls") -> list:
    with duckdb.connect() as connection:
        connection.read_parquet(_archive(settings, table), hive_partitioning=True).to_view("archived")
        return connection.execute(sql, params or []).fetchall()


def _totals(settings: Settings) -> list[tuple]:
    connection, _ = open_snapshot(settings)
    try:
        return connection.execute(TOTALS).fetchall()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def outcome(built_home: Path, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("archive-privacy") / "home"
    shutil.copytree(built_home, home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIOA_HOME", str(home))
        patch.delenv("AIOA_DATABASE_URL", raising=False)
        patch.delenv("AIOA_ARCHIVE_URL", raising=False)
        patch.delenv("AIOA_ATTRIBUTION_FILE", raising=False)
        settings = Settings(home=home)
        from aioa.identity.principal import local_operator
        from aioa.tenants.settings_doc import update_tenant_settings

        retention = {"calls_days": 30, "raw_rows_days": 30}
        update_tenant_settings(settings, ORG, {"retention": retention}, actor=local_operator())
        archived = archive_run(settings, today=TODAY)
        theirs = "select count(*) from archived where user_id = ?"
        before = {
            "totals": _totals(settings),
            "theirs": {table: _archived(settings, theirs, [USER_ID], table)[0][0] for table in ARCHIVED},
            "sizes": {table: _archived(settings, "select count(*) from archived", [], table) for table in ARCHIVED},
        }
        from aioa.privacy.export import export_subject

        exported = export_subject(settings, EMAIL)["warehouse"]["row_counts"]
        report = delete_subject(settings, EMAIL)
        yield {"settings": settings, "archived": archived, "before": before, "exported": exported, "report": report}


def test_privacy_export_includes_their_archived_rows(outcome: dict) -> None:
    theirs = outcome["before"]["theirs"]
    assert all(count > 0 for count in theirs.values()), theirs  # alice has archived rows in every table
    for table in ARCHIVED:
        assert outcome["exported"][f"archive:{table.replace('/', '.')}"] == theirs[table]


def test_privacy_delete_rewrites_their_archived_calls(outcome: dict) -> None:
    settings, report = outcome["settings"], outcome["report"]
    assert outcome["archived"].calls == {ORG: 1846}
    assert report.rebuilt
    moved = {"marts.fct_llm_calls": 1846, "marts.fct_tool_calls": 1628, "raw.llm_calls": 1846, "raw.tool_calls": 1628}
    assert report.archive["rows_rewritten"] == moved
    assert report.archive["rows_not_rebuilt"] == dict.fromkeys(moved, 0)
    assert len(report.archive["partitions_written"]) == 16  # 4 tables x 4 months
    assert report.rows["archive:raw.llm_calls"] == 1846  # brought back into raw to be pseudonymised
    alias = pseudonym(settings, ORG, EMAIL)
    for table in ARCHIVED:
        theirs = "select count(*) from archived where user_id = ?"
        assert _archived(settings, theirs, [USER_ID], table) == [(0,)], table
        assert _archived(settings, theirs, [alias], table) == [(outcome["before"]["theirs"][table],)], table
        # no column of any archived row names her any more (paths, session ids, project ids ...)
        named = _archived(
            settings,
            "select count(*) from archived as a where contains(lower(cast(a as varchar)), ?) "
            "or contains(lower(cast(a as varchar)), ?)",
            [USER_ID, EMAIL],
            table,
        )
        assert named == [(0,)], table


def test_totals_and_the_archive_size_survive_the_delete(outcome: dict) -> None:
    settings = outcome["settings"]
    assert _totals(settings) == outcome["before"]["totals"]
    assert _archived(settings, "select count(*), count(distinct call_key) from archived") == [(1846, 1846)]
    for table in ARCHIVED:
        assert _archived(settings, "select count(*) from archived", [], table) == outcome["before"]["sizes"][table]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        kept = [
            connection.execute(f"select count(*) from {table} where org_id = ?", [ORG]).fetchall()[0][0]
            for table in ("marts.fct_llm_calls", "marts.fct_tool_calls", "raw.llm_calls", "raw.tool_calls")
        ]
    # the rebuilt and pseudonymised rows went back to the archive, not stayed in the warehouse
    assert kept == [2421 - 1846, 2094 - 1628, 2421 - 1846, 2094 - 1628]
