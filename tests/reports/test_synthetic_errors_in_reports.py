"""`aioa report` (and `/v1/reports`, the same rows): an API error Claude Code logged under `<synthetic>` is an error
of the model that failed (dbt's rule), never a model of its own, and no token total moves."""

from __future__ import annotations

import pytest

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.reports import REPORT_KINDS, usage_report
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot
from tests.ingest.transcripts import assistant, write_jsonl

OPUS, SONNET = "claude-opus-4-6", "claude-sonnet-4-5-20250929"


def _error(message_id: str, ts: str, session: str) -> dict:
    record = assistant(
        message_id,
        f"req_{message_id}",
        output=0,
        input_tokens=0,
        model="<synthetic>",
        ts=ts,
        session=session,
        content=[{"type": "text", "text": "API Error: 529 Overloaded"}],
    )
    record["isApiErrorMessage"] = True
    return record


@pytest.fixture
def reports(settings, tmp_path):
    projects = tmp_path / ".claude" / "projects" / "-home-alice-src-shop"
    day = "2026-03-02T"
    # s1: opus, then an error, then sonnet: the error is opus's (the session's latest real call before it)
    write_jsonl(
        projects / "s1.jsonl",
        [
            assistant("m1", "r1", output=7, cache_read=100, ts=day + "10:00:00.000Z", session="s1"),
            _error("e1", day + "10:05:00.000Z", "s1"),
            assistant("m2", "r2", output=9, model=SONNET, ts=day + "10:10:00.000Z", session="s1"),
        ],
    )
    # s2: an error first, then sonnet: the first real call after it
    write_jsonl(
        projects / "s2.jsonl",
        [
            _error("e2", day + "09:00:00.000Z", "s2"),
            assistant("m3", "r3", output=4, model=SONNET, ts=day + "09:05:00.000Z", session="s2"),
        ],
    )
    # s3: nothing but an error: the model alice used most that day (sonnet, 2 calls to 1)
    write_jsonl(projects / "s3.jsonl", [_error("e3", day + "11:00:00.000Z", "s3")])
    ingest(ClaudeCodeSource(), [tmp_path / ".claude"], settings)
    connection, _ = open_snapshot(settings)
    with connection:
        raw_tokens = connection.execute(
            "select sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens "
            "+ cache_read_tokens), count(*) filter (where model = '<synthetic>') from raw.llm_calls"
        ).fetchone()
        yield {kind: usage_report(connection, kind, scope=TenantScope.all_orgs()) for kind in REPORT_KINDS}, raw_tokens


def test_no_report_lists_synthetic_as_a_model(reports):
    by_kind, (_, synthetic_rows) = reports
    assert synthetic_rows == 3  # the raw layer keeps what the log says
    for kind, rows in by_kind.items():
        assert rows, kind
        assert all(model["model"] != "<synthetic>" for row in rows for model in row["models"]), kind
    assert [row["model"] for row in by_kind["model"]] == [OPUS, SONNET]


def test_each_error_counts_against_the_model_that_failed(reports):
    by_kind, _ = reports
    models = {row["model"]: row for row in by_kind["model"]}
    assert {name: (row["calls"], row["errors"]) for name, row in models.items()} == {OPUS: (1, 1), SONNET: (2, 2)}
    sessions = {row["session_id"]: {m["model"]: m["errors"] for m in row["models"]} for row in by_kind["session"]}
    assert sessions == {"s1": {OPUS: 1, SONNET: 0}, "s2": {SONNET: 1}, "s3": {SONNET: 1}}
    for kind in ("daily", "monthly", "project"):
        (row,) = by_kind[kind]
        assert row["errors"] == 3 and {m["model"]: m["errors"] for m in row["models"]} == {OPUS: 1, SONNET: 2}


def test_token_totals_are_unchanged(reports):
    by_kind, (raw_total, _) = reports
    assert raw_total == 7 + 100 + 9 + 4 + 3 * 10  # three real calls of 10 input tokens each; errors carry none
    for kind, rows in by_kind.items():
        assert sum(row["total_tokens"] for row in rows) == raw_total, kind
        assert sum(m["total_tokens"] for row in rows for m in row["models"]) == raw_total, kind
