"""The privacy delete reaches the archive: alice@acme.example's archived calls are rewritten, pseudonymised, from
the rebuilt marts (partition by partition), and every total stays what it was.

Its own copy of `built_home` (the deletion rebuilds the marts through the pipeline job): acme keeps 30 days, so
1,846 of its 2,421 calls are archived first (see test_archive.py for the dates).
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


def _archive(settings: Settings) -> str:
    return str(settings.home / "archive" / "marts" / "fct_llm_calls" / "**" / "*.parquet")


def _archived(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect() as connection:
        connection.read_parquet(_archive(settings), hive_partitioning=True).to_view("archived")
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

        update_tenant_settings(settings, ORG, {"retention": {"calls_days": 30}}, actor=local_operator())
        archived = archive_run(settings, today=TODAY)
        before = {
            "totals": _totals(settings),
            "theirs": _archived(settings, "select count(*) from archived where user_id = ?", [USER_ID])[0][0],
        }
        report = delete_subject(settings, EMAIL)
        yield {"settings": settings, "archived": archived, "before": before, "report": report}


def test_privacy_delete_rewrites_their_archived_calls(outcome: dict) -> None:
    settings, report = outcome["settings"], outcome["report"]
    assert outcome["archived"].calls == {ORG: 1846}
    assert outcome["before"]["theirs"] > 0  # alice has archived calls to begin with
    assert report.rebuilt
    assert report.archive["calls_rewritten"] == 1846 and report.archive["calls_not_rebuilt"] == 0
    assert len(report.archive["partitions_written"]) == 4
    alias = pseudonym(settings, ORG, EMAIL)
    assert _archived(settings, "select count(*) from archived where user_id = ?", [USER_ID]) == [(0,)]
    assert _archived(settings, "select count(*) from archived where user_id = ?", [alias]) == [
        (outcome["before"]["theirs"],)
    ]
    # no column of any archived row names her any more (paths, session ids, project ids ...)
    named = _archived(
        settings,
        "select count(*) from archived as a where contains(lower(cast(a as varchar)), ?) "
        "or contains(lower(cast(a as varchar)), ?)",
        [USER_ID, EMAIL],
    )
    assert named == [(0,)]


def test_totals_and_the_archive_size_survive_the_delete(outcome: dict) -> None:
    settings = outcome["settings"]
    assert _totals(settings) == outcome["before"]["totals"]
    assert _archived(settings, "select count(*), count(distinct call_key) from archived") == [(1846, 1846)]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        kept = connection.execute("select count(*) from marts.fct_llm_calls where org_id = ?", [ORG]).fetchall()
    assert kept == [(2421 - 1846,)]  # the rebuilt calls went back to the archive, not stayed in the warehouse
