"""A process killed in the middle of an ingest leaves no partial batch, and the next run completes the work."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb

from tests.ingest.transcripts import assistant, write_jsonl

INGEST = """
import os, sys
from pathlib import Path
from aioa.ingest import runner
from aioa.ingest.claude_code import ClaudeCodeSource
if sys.argv[2] == "crash":
    runner.BEFORE_COMMIT_HOOKS.append(lambda: os._exit(77))  # killed after staging, before the commit
runner.ingest(ClaudeCodeSource(), [Path(sys.argv[1])])
"""


def run_ingest(root, home, *, crash: bool) -> int:
    env = {**os.environ, "AIOA_HOME": str(home)}
    argv = [sys.executable, "-c", INGEST, str(root), "crash" if crash else "run"]
    return subprocess.run(argv, env=env, timeout=120).returncode


def counts(home):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(
            "select (select count(*) from raw.llm_calls), (select coalesce(sum(output_tokens), 0) "
            "from raw.llm_calls), (select count(*) from raw.tool_calls), (select count(*) from raw.quarantine), "
            "(select count(*) from raw.ingest_manifest)"
        ).fetchone()


def test_killed_ingest_leaves_nothing_half_written(tmp_path):
    root, home = tmp_path / ".claude", tmp_path / "home"
    write_jsonl(
        root / "projects" / "p" / "s1.jsonl",
        [assistant(f"msg_{i}", f"req_{i}", output=i) for i in range(1, 201)] + ["{broken"],
    )
    assert run_ingest(root, home, crash=True) == 77
    assert counts(home) == (0, 0, 0, 0, 0)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select status from raw.ingest_runs").fetchall() == [("running",)]
    assert run_ingest(root, home, crash=False) == 0
    assert counts(home) == (200, sum(range(1, 201)), 0, 1, 1)
    assert run_ingest(root, home, crash=False) == 0
    assert counts(home) == (200, sum(range(1, 201)), 0, 1, 1)
