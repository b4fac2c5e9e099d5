"""Ingest of a real-shaped `~/.claude` tree equals the per-file ingests of the same files, de-duplicated (tokens exact).

The tree (benchmarks/claude_tree.py, small) has subagent files, resumed sessions that replay earlier sessions'
calls, streamed duplicates, progress lines mirroring subagent calls and `<synthetic>` lines. Three answers must be
identical per day and model:
- the whole tree ingested at once;
- each file ingested alone into its own home, the rows of all homes de-duplicated on (message id, request id)
  keeping the most complete snapshot (a resumed session's calls are in two files: each home has them once);
- a reference computed here with plain `json`: one call per message id + request id, its most complete snapshot
  (the last one: output only grows while a response streams), from top-level assistant lines only; progress lines
  in this tree only mirror calls that are also in a subagent file, so a correct reader finds nothing more there.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from benchmarks.claude_tree import TreeSpec, write_claude_tree

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.reports import usage_report
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope

TOKENS = ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens")
CALL_COLUMNS = "message_id, request_id, ts_utc, model, " + ", ".join(TOKENS)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("claude-tree") / ".claude"
    write_claude_tree(root, TreeSpec(total_bytes=1_200_000, files=20, seed=20, resume_share=0.25))
    return root


def reference_calls(tree: Path) -> dict[tuple, dict]:
    """One entry per call from the files themselves: the most complete snapshot of each message id + request id."""
    calls: dict[tuple, dict] = {}
    for path in sorted(tree.rglob("*.jsonl")):
        for line_no, line in enumerate(path.read_text().splitlines()):
            record = json.loads(line)
            message = record.get("message") or {}
            usage = message.get("usage")
            if record.get("type") != "assistant" or not isinstance(usage, dict):
                continue
            key = (message.get("id"), record.get("requestId"))
            if None in key:  # no ids to de-duplicate on (a `<synthetic>` error line): a call of its own
                key = (message.get("id"), record.get("requestId"), str(path), line_no)
            one_hour = (usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens", 0)
            written = usage.get("cache_creation_input_tokens", 0)
            call = {
                "day": datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).astimezone(UTC).date(),
                "model": message["model"],
                "input_tokens": usage.get("input_tokens", 0),
                "output_tokens": usage.get("output_tokens", 0),
                "cache_write_1h_tokens": one_hour,
                "cache_write_5m_tokens": written - one_hour,
                "cache_read_tokens": usage.get("cache_read_input_tokens", 0),
            }
            if key not in calls or _completeness(call) > _completeness(calls[key]):
                calls[key] = call
    return calls


def _completeness(call: dict) -> tuple[int, int]:
    return call["output_tokens"], sum(call[name] for name in TOKENS if name != "output_tokens")


def per_day_model(calls) -> dict[tuple, Counter]:
    totals: dict[tuple, Counter] = defaultdict(Counter)
    for call in calls:
        bucket = totals[(call["day"], call["model"])]
        bucket["calls"] += 1
        for name in TOKENS:
            bucket[name] += call[name]
    return dict(totals)


def stored_calls(home: Path) -> list[dict]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute(f"select {CALL_COLUMNS} from raw.llm_calls").fetchall()
    names = CALL_COLUMNS.split(", ")
    return [dict(zip(names, row, strict=True)) | {"day": row[2].date()} for row in rows]


def test_the_tree_has_the_quirks_it_is_meant_to_exercise(tree):
    files = sorted(tree.rglob("*.jsonl"))
    assert len(files) == 20
    assert sum("/subagents/" in str(path) for path in files) >= 3
    snapshots: dict[tuple, list[int]] = defaultdict(list)  # (message id, request id, file) -> output per line
    holders: dict[tuple, set] = defaultdict(set)
    progress = synthetic = 0
    for path in files:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            progress += record.get("type") == "progress"
            if record.get("type") == "assistant":
                key = (record["message"]["id"], record.get("requestId"))
                snapshots[(*key, path)].append(record["message"]["usage"]["output_tokens"])
                holders[key].add(path)
                synthetic += record["message"]["model"] == "<synthetic>"
    assert sum(len(outputs) > 1 for outputs in snapshots.values()) > 50  # streamed duplicates
    # as in real logs, output only grows while a response streams: the last snapshot is the most complete one
    assert all(outputs == sorted(outputs) for outputs in snapshots.values())
    assert sum(len(paths) > 1 for paths in holders.values()) > 5  # calls in two files: resumed sessions
    assert progress > 0 and synthetic > 0


def test_whole_tree_ingest_equals_per_file_ingests_deduplicated(tree, settings, tmp_path):
    ingest(ClaudeCodeSource(), [tree], settings)
    whole = stored_calls(settings.home)

    per_file: dict[tuple, dict] = {}
    for index, path in enumerate(sorted(tree.rglob("*.jsonl"))):
        home = tmp_path / f"file-{index}"
        ingest(ClaudeCodeSource(), [path], Settings(home=home), publish=False)
        for call in stored_calls(home):
            key = (call["message_id"], call["request_id"])
            if key not in per_file or _completeness(call) > _completeness(per_file[key]):
                per_file[key] = call

    reference = reference_calls(tree)
    assert len(whole) == len(per_file) == len(reference)
    expected = per_day_model(reference.values())
    assert per_day_model(per_file.values()) == expected
    assert per_day_model(whole) == expected

    # The daily report of the whole tree carries the same totals per day.
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        report = usage_report(connection, "daily", scope=TenantScope.all_orgs())
    for row in report:
        day = datetime.fromisoformat(row["date"]).date()
        for name in TOKENS:
            assert row[name] == sum(bucket[name] for (d, _), bucket in expected.items() if d == day), (day, name)
    assert {row["date"] for row in report} == {day.isoformat() for day, _ in expected}
