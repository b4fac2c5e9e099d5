"""A run with little to read (a grown tree: one new session) uses one DuckDB thread, a larger one the database's
threads; either way the database has its threads back afterwards, also after a failed run (every connection to a
plain warehouse file in a process shares one database and its settings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aioa.ingest import runner
from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.settings import Settings
from aioa.warehouse import connect
from tests.ingest.transcripts import assistant, write_jsonl


def _session(tmp_path: Path) -> Path:
    root = tmp_path / ".claude"
    write_jsonl(root / "projects" / "p" / "s1.jsonl", [assistant(f"msg_{i}", f"req_{i}", output=i) for i in (1, 2)])
    return root


def _threads_during_and_after(settings: Settings, root: Path, monkeypatch, *, fail: bool = False) -> tuple[list, int]:
    """The threads the database had just before the batch's commit, and after the run."""
    keeper = connect(settings)  # the same database as the run's connection
    keeper.execute("set threads = 3")
    seen = []

    def look() -> None:
        seen.append(keeper.execute("select current_setting('threads')").fetchall()[0][0])
        if fail:
            raise NameError("a code error: not retried file by file")

    monkeypatch.setattr(runner, "BEFORE_COMMIT_HOOKS", [look])
    try:
        if fail:
            with pytest.raises(NameError):
                runner.ingest(ClaudeCodeSource(), [root], settings, publish=False)
        else:
            summary = runner.ingest(ClaudeCodeSource(), [root], settings, publish=False)
            assert summary.rows_added["llm_calls"] == 2
        return seen, keeper.execute("select current_setting('threads')").fetchall()[0][0]
    finally:
        keeper.close()


def test_a_small_run_uses_one_thread_and_gives_them_back(settings: Settings, tmp_path: Path, monkeypatch):
    assert _threads_during_and_after(settings, _session(tmp_path), monkeypatch) == ([1], 3)


def test_a_larger_run_keeps_the_database_threads(settings: Settings, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(runner, "ONE_THREAD_BELOW_BYTES", 100)  # the session file is larger than this
    assert _threads_during_and_after(settings, _session(tmp_path), monkeypatch) == ([3], 3)


def test_configured_threads_are_left_alone(tmp_path: Path, monkeypatch):
    settings = Settings(home=tmp_path / "aioa-home", duckdb_threads=2)
    monkeypatch.setenv("AIOA_HOME", str(settings.home))
    assert _threads_during_and_after(settings, _session(tmp_path), monkeypatch) == ([3], 3)


def test_a_failed_run_gives_the_threads_back(settings: Settings, tmp_path: Path, monkeypatch):
    assert _threads_during_and_after(settings, _session(tmp_path), monkeypatch, fail=True) == ([1], 3)
