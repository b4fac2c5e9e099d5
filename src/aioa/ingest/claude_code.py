"""Claude Code transcripts: `projects/**/*.jsonl` of one or more config dirs, subagent files included."""

from __future__ import annotations

from pathlib import Path

import duckdb

from aioa.ingest.sources import DiscoveredFile, Source, find_files, read_sql
from aioa.warehouse.sql import execute_script


class ClaudeCodeSource(Source):
    name = "claude_code"
    tables = ("llm_calls", "tool_calls")

    def discover(self, paths: list[Path]) -> list[DiscoveredFile]:
        # A config dir holds projects/<encoded cwd>/<session>.jsonl and <session>/subagents/agent-*.jsonl;
        # a path may also point at a projects folder or a single file.
        discovered = []
        for root in paths:
            root = root.expanduser()
            projects = root / "projects"
            if projects.is_dir():
                config_dir = str(root.resolve())  # once per root, not once per file
                discovered += find_files([projects], ("**/*.jsonl",), config_dir)
            else:
                discovered += find_files([root], ("**/*.jsonl",))
        return discovered

    def stage(self, connection: duckdb.DuckDBPyConnection) -> None:
        for script in (
            "claude_code_records.sql",
            "claude_code_messages.sql",
            "claude_code_calls.sql",
            "claude_code_tools.sql",
            "claude_code_quarantine.sql",
        ):
            execute_script(connection, read_sql(script))
