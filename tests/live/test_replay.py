"""`aioa replay --since DAY`: the raw rows from DAY on are deleted and read again from their files, giving the same
rows (every column but the run bookkeeping) and so the same reports and marts."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from aioa.live.replay import replay
from aioa.reports.usage import usage_report
from aioa.settings import Settings
from aioa.warehouse import connect
from aioa.warehouse.access import TenantScope
from aioa.warehouse.sql import sql_string

# Everything a row says, without when and by which run it was read.
CONTENT = {
    "llm_calls": "ingest_run_id",
    "tool_calls": "ingest_run_id",
    "handoffs": "ingest_run_id",
    "quarantine": "ingest_run_id, detected_at",
}


def differences(settings: Settings, before: Path) -> dict[str, tuple[int, int]]:
    """Per raw table: rows only in the warehouse now, rows only in `before` (a copy of it), by every column."""
    connection = connect(settings)
    try:
        connection.execute(f"attach {sql_string(str(before))} as before (read_only)")  # ATTACH binds no ? in DuckDB 1.5
        found = {}
        for table, excluded in CONTENT.items():
            now = f"select * exclude ({excluded}) from raw.{table}"
            then = f"select * exclude ({excluded}) from before.raw.{table}"
            found[table] = (
                connection.execute(f"select count(*) from ({now} except all {then})").fetchone()[0],
                connection.execute(f"select count(*) from ({then} except all {now})").fetchone()[0],
            )
        return found
    finally:
        connection.close()


def daily_report(settings: Settings) -> list[dict]:
    connection = connect(settings)
    try:
        return usage_report(connection, "daily", scope=TenantScope.all_orgs())
    finally:
        connection.close()


def last_week(settings: Settings) -> tuple[date, int]:
    connection = connect(settings)
    try:
        return connection.execute(
            "select max(ts_utc)::date - 7, count(*) filter (where ts_utc >= (select max(ts_utc)::date - 7"
            " from raw.llm_calls)) from raw.llm_calls"
        ).fetchone()
    finally:
        connection.close()


def test_replay_since_a_day_restores_the_same_rows(built_home: Path, sample_dir: Path, tmp_path, monkeypatch):
    home = Path(shutil.copytree(built_home, tmp_path / "home"))
    monkeypatch.setenv("AIOA_HOME", str(home))
    claude_dirs = ",".join(str(path) for path in sorted(sample_dir.glob("claude-code/*/.claude")))
    monkeypatch.setenv("AIOA_CLAUDE_CODE_DIRS", claude_dirs)
    monkeypatch.setenv("AIOA_HANDOFF_PATHS", str(sample_dir / "handoffs"))
    monkeypatch.setenv("AIOA_OTEL_PATHS", str(sample_dir / "otel"))
    settings = Settings(home=home)
    cut, calls_since_cut = last_week(settings)
    assert calls_since_cut > 0
    before_report = daily_report(settings)
    before = Path(shutil.copy(settings.warehouse_path, tmp_path / "before.duckdb"))

    result = replay(settings, cut, rebuild=False)

    assert result.files > 0 and result.missing == []
    assert result.rows_removed >= calls_since_cut  # whole files: their rows from before the cut too
    assert result.rows_added == result.rows_removed
    assert differences(settings, before) == {table: (0, 0) for table in CONTENT}
    assert daily_report(settings) == before_report


def test_replay_refuses_nothing_and_changes_nothing_after_the_last_event(built_home: Path, tmp_path, monkeypatch):
    home = Path(shutil.copytree(built_home, tmp_path / "home"))
    monkeypatch.setenv("AIOA_HOME", str(home))
    settings = Settings(home=home)
    before = Path(shutil.copy(settings.warehouse_path, tmp_path / "before.duckdb"))
    result = replay(settings, date(2100, 1, 1), rebuild=False)
    assert (result.files, result.rows_removed, result.rows_added) == (0, 0, 0)
    assert differences(settings, before) == {table: (0, 0) for table in CONTENT}


@pytest.mark.parametrize("day", ["yesterday", "2026-13-01"])
def test_the_cli_rejects_a_day_that_is_not_a_date(day):
    from typer.testing import CliRunner

    from aioa.cli import app

    answer = CliRunner().invoke(app, ["replay", "--since", day])
    assert answer.exit_code == 2 and "not a date" in answer.output
