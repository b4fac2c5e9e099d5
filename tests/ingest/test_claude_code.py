"""Claude Code transcripts: every quirk of the real logs, with hand-computed totals."""

from __future__ import annotations

from pathlib import Path

import duckdb

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from tests.ingest.transcripts import (
    append_jsonl,
    assistant,
    progress_subagent,
    tool_result,
    tool_use,
    user_prompt,
    write_jsonl,
)


def run(settings: Settings, root: Path):
    return ingest(ClaudeCodeSource(), [root], settings)


def query(settings: Settings, sql: str, params=None):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def token_totals(settings: Settings) -> tuple:
    return query(
        settings,
        "select count(*), sum(input_tokens), sum(output_tokens), sum(cache_write_5m_tokens), "
        "sum(cache_write_1h_tokens), sum(cache_read_tokens) from raw.llm_calls where status = 'ok'",
    )[0]


def session_file(root: Path, name: str = "s1") -> Path:
    return root / "projects" / "-home-alice-src-shop" / f"{name}.jsonl"


def test_streamed_snapshots_count_once_with_the_final_output(settings, tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(
        session_file(root),
        [
            user_prompt("hi"),
            assistant(
                "msg_1",
                "req_1",
                output=1,
                input_tokens=5,
                cache_1h=100,
                cache_read=1000,
                content=[{"type": "thinking", "thinking": "…"}],
            ),
            assistant("msg_1", "req_1", output=7, input_tokens=5, cache_1h=100, cache_read=1000),
            assistant(
                "msg_1",
                "req_1",
                output=42,
                input_tokens=5,
                cache_1h=100,
                cache_read=1000,
                content=[tool_use("toolu_1", "Read", file_path="/x")],
            ),
            assistant("msg_2", "req_2", output=3, input_tokens=2, cache_5m=10, cache_read=50),
        ],
    )
    summary = run(settings, root)
    assert token_totals(settings) == (2, 7, 45, 10, 100, 1050)
    assert summary.rows_added["llm_calls"] == 2
    assert summary.duplicates_skipped == 2


def test_snapshot_order_does_not_matter(settings, tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(
        session_file(root),
        [
            assistant("msg_1", "req_1", output=42),
            assistant("msg_1", "req_1", output=1),
        ],
    )
    run(settings, root)
    assert token_totals(settings)[2] == 42


def test_subagents_in_files_and_in_progress_lines_count_once(settings, tmp_path):
    root = tmp_path / ".claude"
    in_file_and_progress = assistant(
        "msg_s1", "req_s1", output=20, input_tokens=3, cache_1h=500, model="claude-sonnet-4-5-20250929", agent_id="a1"
    )
    progress_only = assistant(
        "msg_s2", "req_s2", output=9, input_tokens=2, cache_read=300, model="claude-haiku-4-5-20251001"
    )
    write_jsonl(
        session_file(root),
        [
            assistant(
                "msg_1",
                "req_1",
                output=10,
                content=[tool_use("toolu_task", "Task", subagent_type="Explore", prompt="look")],
            ),
            progress_subagent(in_file_and_progress, agent_id="a1"),
            progress_subagent(progress_only, agent_id="a2"),
        ],
    )
    write_jsonl(
        root / "projects" / "-home-alice-src-shop" / "s1" / "subagents" / "agent-a1.jsonl", [in_file_and_progress]
    )
    run(settings, root)
    rows = query(
        settings, "select model, agent_id, is_subagent, session_id, output_tokens from raw.llm_calls order by model"
    )
    assert rows == [
        ("claude-haiku-4-5-20251001", "a2", True, "s1", 9),
        ("claude-opus-4-6", "main", False, "s1", 10),
        ("claude-sonnet-4-5-20250929", "a1", True, "s1", 20),
    ]
    assert query(settings, "select subagent_type from raw.tool_calls where tool_name = 'Task'") == [("Explore",)]


def test_resumed_session_replaying_earlier_lines_counts_once(settings, tmp_path):
    root = tmp_path / ".claude"
    original = [
        assistant("msg_1", "req_1", output=10, session="s1"),
        assistant("msg_2", "req_2", output=20, session="s1"),
    ]
    write_jsonl(session_file(root, "s1"), original)
    run(settings, root)
    resumed = [*original, assistant("msg_3", "req_3", output=30, session="s2")]
    write_jsonl(session_file(root, "s2"), resumed)
    summary = run(settings, root)
    assert summary.rows_added["llm_calls"] == 1
    assert query(settings, "select session_id, sum(output_tokens) from raw.llm_calls group by 1 order by 1") == [
        ("s1", 30),
        ("s2", 30),
    ]


def test_synthetic_rows_are_errors_not_spend(settings, tmp_path):
    root = tmp_path / ".claude"
    synthetic = assistant(
        "msg_syn",
        "req_syn",
        output=0,
        input_tokens=0,
        model="<synthetic>",
        content=[{"type": "text", "text": "API Error: 529 Overloaded"}],
    )
    synthetic["isApiErrorMessage"] = True
    write_jsonl(session_file(root), [synthetic, assistant("msg_1", "req_1", output=5)])
    run(settings, root)
    assert query(
        settings, "select status, price_status, cost_usd, error from raw.llm_calls where model = '<synthetic>'"
    ) == [("error", "not_billed", None, "API Error: 529 Overloaded")]
    assert token_totals(settings)[0] == 1


def test_project_and_branch_come_from_each_records_cwd(settings, tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(
        session_file(root),
        [
            assistant("msg_1", "req_1", output=1, cwd="/home/alice/src/shop", branch="main"),
            assistant("msg_2", "req_2", output=1, cwd="/home/alice/src/billing", branch="fix-tax"),
        ],
    )
    run(settings, root)
    assert query(settings, "select project_id, git_branch, user_id, org_id from raw.llm_calls order by 1") == [
        ("billing", "fix-tax", "alice", "default"),
        ("shop", "main", "alice", "default"),
    ]


def test_cache_writes_without_a_split_are_five_minute_writes(settings, tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(session_file(root), [assistant("msg_1", "req_1", output=1, cache_5m=400, split=False)])
    run(settings, root)
    assert token_totals(settings)[3:5] == (400, 0)


def test_tool_calls_parse_mcp_names_and_results(settings, tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(
        session_file(root),
        [
            assistant(
                "msg_1",
                "req_1",
                output=5,
                ts="2026-03-02T10:00:00.000Z",
                content=[
                    tool_use("toolu_a", "mcp__github__create_issue", title="x"),
                    tool_use("toolu_b", "mcp__plugin_context7_context7__get-library-docs", id="y"),
                    tool_use("toolu_c", "mcp__plugin_acme_linear_sync__list_issues"),
                    tool_use("toolu_d", "Bash", command="ls"),
                ],
            ),
            tool_result("toolu_a", ts="2026-03-02T10:00:01.500Z"),
            tool_result("toolu_b", is_error=True, ts="2026-03-02T10:00:02.000Z"),
        ],
    )
    run(settings, root)
    rows = query(
        settings,
        "select tool_name, is_mcp, mcp_plugin, mcp_server, mcp_tool, success, duration_ms "
        "from raw.tool_calls order by tool_use_id",
    )
    assert rows == [
        ("mcp__github__create_issue", True, None, "github", "create_issue", True, 1500),
        (
            "mcp__plugin_context7_context7__get-library-docs",
            True,
            "context7",
            "context7",
            "get-library-docs",
            False,
            2000,
        ),
        ("mcp__plugin_acme_linear_sync__list_issues", True, "acme", "linear_sync", "list_issues", None, None),
        ("Bash", False, None, None, None, None, None),
    ]


def test_tool_result_in_a_later_append_completes_the_call(settings, tmp_path):
    root = tmp_path / ".claude"
    path = write_jsonl(
        session_file(root),
        [assistant("msg_1", "req_1", output=5, content=[tool_use("toolu_a", "Bash", command="make")])],
    )
    run(settings, root)
    append_jsonl(path, [tool_result("toolu_a", ts="2026-03-02T10:00:03.000Z")])
    run(settings, root)
    assert query(settings, "select success, duration_ms from raw.tool_calls") == [(True, 3000)]


def test_bad_lines_are_quarantined_with_file_line_and_reason(settings, tmp_path):
    root = tmp_path / ".claude"
    bad_type = assistant("msg_bad", "req_bad", output=1)
    bad_type["message"]["usage"]["input_tokens"] = "abc"
    unknown_field = assistant("msg_new", "req_new", output=2)
    unknown_field["message"]["usage"]["ephemeral_24h_input_tokens"] = 9
    path = write_jsonl(
        session_file(root),
        [
            assistant("msg_1", "req_1", output=5),
            "{not json",
            bad_type,
            "",
            unknown_field,
            '{"type": "assistant", "message": {"usage": {"input_tokens": 1}, "model": "claude-opus-4-6"}, '
            '"timestamp": "yesterday"}',
        ],
    )
    summary = run(settings, root)
    assert token_totals(settings)[:3] == (2, 20, 7)
    assert (summary.quarantined, summary.flagged) == (3, 1)
    rows = query(settings, "select source_file, source_line, severity, reason from raw.quarantine order by 2")
    assert rows == [
        (str(path), 2, "rejected", "malformed JSON"),
        (str(path), 3, "rejected", 'wrong type for usage.input_tokens: "abc"'),
        (str(path), 5, "flagged", "unknown usage fields: ephemeral_24h_input_tokens"),
        (str(path), 6, "rejected", "invalid or missing timestamp"),
    ]


def test_reingest_changes_nothing_and_growth_adds_exactly_the_new_lines(settings, tmp_path):
    root = tmp_path / ".claude"
    path = write_jsonl(
        session_file(root), [assistant("msg_1", "req_1", output=5), assistant("msg_2", "req_2", output=6)]
    )
    run(settings, root)
    before = token_totals(settings)
    again = run(settings, root)
    assert (again.files_read, again.lines_read, token_totals(settings)) == (0, 0, before)
    append_jsonl(
        path,
        [
            assistant("msg_2", "req_2", output=60),  # a later, more complete snapshot
            assistant("msg_3", "req_3", output=7, input_tokens=4),
        ],
    )
    grown = run(settings, root)
    assert grown.lines_read == 2
    assert (grown.rows_added["llm_calls"], grown.rows_updated["llm_calls"]) == (1, 1)
    assert token_totals(settings)[:3] == (3, 24, 72)


def test_truncated_last_line_is_quarantined_then_loaded_when_completed(settings, tmp_path):
    root = tmp_path / ".claude"
    complete = assistant("msg_2", "req_2", output=9)
    import json

    text = json.dumps(complete)
    path = write_jsonl(session_file(root), [assistant("msg_1", "req_1", output=5), text[:40]], trailing_newline=False)
    first = run(settings, root)
    assert first.quarantined == 1
    assert query(settings, "select reason from raw.quarantine") == [
        ("truncated line at end of file (no newline, not valid JSON)",)
    ]
    with path.open("a") as handle:
        handle.write(text[40:] + "\n")
    run(settings, root)
    assert token_totals(settings)[:3] == (2, 20, 14)
    assert query(settings, "select count(*) from raw.quarantine") == [(0,)]


def test_a_rewritten_file_is_reread_without_double_counting(settings, tmp_path):
    root = tmp_path / ".claude"
    path = write_jsonl(
        session_file(root), [assistant("msg_1", "req_1", output=5), assistant("msg_2", "req_2", output=6)]
    )
    run(settings, root)
    write_jsonl(path, [assistant("msg_2", "req_2", output=6)])  # shorter: rewritten, not grown
    summary = run(settings, root)
    assert summary.files_read == 1
    assert token_totals(settings)[:3] == (2, 20, 11)


def test_several_config_dirs_are_read(settings, tmp_path):
    first, second = tmp_path / "a" / ".claude", tmp_path / "b" / ".claude"
    write_jsonl(session_file(first), [assistant("msg_1", "req_1", output=5)])
    write_jsonl(session_file(second, "s9"), [assistant("msg_9", "req_9", output=6, session="s9")])
    ingest(ClaudeCodeSource(), [first, second], settings)
    assert token_totals(settings)[:3] == (2, 20, 11)


def test_most_complete_snapshot_wins_within_a_batch_and_replaces_a_stored_one_later(settings, tmp_path):
    # Within a batch: more output wins; on equal output, more input-side tokens win; a later timestamp alone does
    # not beat either. Across runs: a more complete snapshot in appended lines updates the stored row, a less
    # complete one changes nothing.
    root = tmp_path / ".claude"
    write_jsonl(
        session_file(root),
        [
            assistant("msg_1", "req_1", output=50, input_tokens=5, cache_read=100, ts="2026-03-02T10:00:09.000Z"),
            assistant("msg_1", "req_1", output=50, input_tokens=5, cache_read=900, ts="2026-03-02T10:00:01.000Z"),
            assistant("msg_1", "req_1", output=20, input_tokens=5, cache_read=5000, ts="2026-03-02T10:00:30.000Z"),
            assistant("msg_2", "req_2", output=10, ts="2026-03-02T11:00:00.000Z"),
        ],
    )
    first = run(settings, root)
    assert (first.rows_added["llm_calls"], first.rows_updated["llm_calls"], first.duplicates_skipped) == (2, 0, 2)
    assert query(
        settings,
        "select call_key, output_tokens, cache_read_tokens, ts_utc::varchar from raw.llm_calls order by call_key",
    ) == [
        ("claude_code:msg_1:req_1", 50, 900, "2026-03-02 10:00:01"),
        ("claude_code:msg_2:req_2", 10, 0, "2026-03-02 11:00:00"),
    ]
    append_jsonl(
        session_file(root),
        [
            assistant("msg_2", "req_2", output=400, ts="2026-03-02T11:00:05.000Z"),
            assistant("msg_1", "req_1", output=49, input_tokens=5, cache_read=99999),
            assistant("msg_3", "req_3", output=1),
        ],
    )
    second = run(settings, root)
    assert (second.rows_added["llm_calls"], second.rows_updated["llm_calls"], second.duplicates_skipped) == (1, 1, 1)
    assert query(settings, "select call_key, output_tokens, source_line from raw.llm_calls order by call_key") == [
        ("claude_code:msg_1:req_1", 50, 2),
        ("claude_code:msg_2:req_2", 400, 5),
        ("claude_code:msg_3:req_3", 1, 7),
    ]
