"""Handoff logs: the v1 contract is enforced field by field; legacy tracking imports with unverified outcomes."""

from __future__ import annotations

import json

import duckdb

from aioa.ingest.handoffs import HandoffLogSource
from aioa.ingest.runner import ingest
from tests.ingest.transcripts import append_jsonl, write_jsonl


def v1(handoff_id: str, **overrides) -> dict:
    row = {
        "schema": "aioa.handoff/1",
        "handoff_id": handoff_id,
        "ts": "2026-05-01T10:00:00Z",
        "user_id": "alice",
        "project_id": "shop",
        "session_id": "s1",
        "task_id": f"t-{handoff_id}",
        "task_text": "rename x",
        "task_type": "refactor",
        "orchestrator_model": "claude-opus-4-6",
        "target_model": "deepseek-chat",
        "provider": "deepseek",
        "reason": "router",
        "router_version": "v1",
        "predicted_route": "cheap",
        "router_confidence": 0.8,
        "propensity": 0.9,
        "success": True,
        "quality_score": 0.9,
        "error": None,
        "input_tokens": 1000,
        "output_tokens": 200,
        "cost_usd": 0.0005,
        "latency_ms": 1500,
        "alternatives": [{"model": "claude-sonnet-4-5", "success": True, "quality_score": 0.95}],
    }
    row.update(overrides)
    return row


def rows(settings, sql):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_v1_rows_load_and_contract_violations_are_quarantined(settings, tmp_path):
    path = write_jsonl(
        tmp_path / "logs" / "handoffs.jsonl",
        [
            v1("h1"),
            v1("h2", success="yes"),
            v1("h3", quality_score=1.7),
            v1("h4", input_tokens=-5),
            {k: v for k, v in v1("h5").items() if k != "target_model"},
            v1("h6", ts="not a time"),
            v1("h7", surprise_field=1),
            "[1, 2]",
            "{oops",
            v1("h1"),  # the same event logged twice
        ],
    )
    summary = ingest(HandoffLogSource(), [tmp_path / "logs"], settings)
    assert (summary.rows_added["handoffs"], summary.duplicates_skipped, summary.quarantined, summary.flagged) == (
        2,
        1,
        7,
        1,
    )
    assert rows(settings, "select source_line, severity, reason from raw.quarantine order by 1") == [
        (2, "rejected", 'wrong type for success: "yes"'),
        (3, "rejected", "wrong type for quality_score: 1.7"),
        (4, "rejected", "wrong type for input_tokens: -5"),
        (5, "rejected", "missing target_model"),
        (6, "rejected", 'wrong type for ts: "not a time"'),
        (7, "flagged", "unknown fields: surprise_field"),
        (8, "rejected", "not a JSON object"),
        (9, "rejected", "malformed JSON"),
    ]
    loaded = rows(
        settings,
        "select handoff_id, success, quality_score, outcome_verified, cost_usd, user_id, "
        "project_id, alternatives from raw.handoffs order by 1",
    )
    assert [row[:7] for row in loaded] == [
        ("h1", True, 0.9, True, loaded[0][4], "alice", "shop"),
        ("h7", True, 0.9, True, loaded[1][4], "alice", "shop"),
    ]
    assert float(loaded[0][4]) == 0.0005
    assert json.loads(loaded[0][7])[0]["model"] == "claude-sonnet-4-5"
    append_jsonl(path, [v1("h8")])
    grown = ingest(HandoffLogSource(), [tmp_path / "logs"], settings)
    assert (grown.lines_read, grown.rows_added["handoffs"]) == (1, 1)


def test_legacy_tracking_log_imports_with_unverified_outcomes(settings, tmp_path):
    write_jsonl(
        tmp_path / "legacy" / "tracking.jsonl",
        [
            {
                "event": "session",
                "session_id": "L1",
                "timestamp": "2026-01-05T10:00:00",
                "project": "shop",
                "user": "bob",
            },
            {
                "event": "handoff",
                "session_id": "L1",
                "timestamp": "2026-01-05T10:01:00",
                "task": "write tests",
                "task_type": "test_writing",
                "from_model": "claude-opus-4-6",
                "to_model": "deepseek-chat",
                "reason": "keyword",
                "confidence": 0.95,
                "success": True,
                "tokens": 1234,
                "cost": 0.002,
                "duration_ms": 4000,
            },
            {
                "event": "subagent",
                "session_id": "L1",
                "timestamp": "2026-01-05T10:02:00",
                "agent_type": "Explore",
                "model": "claude-haiku-4-5",
                "tokens": 10,
                "task": "look",
            },
            {"event": "handoff", "session_id": "L1", "timestamp": "garbage", "task": "x", "to_model": "deepseek-chat"},
        ],
    )
    summary = ingest(HandoffLogSource(), [tmp_path / "legacy"], settings)
    assert (summary.rows_added["handoffs"], summary.quarantined) == (1, 1)
    assert rows(
        settings,
        "select success, outcome_verified, router_confidence, output_tokens, latency_ms, "
        "user_id, project_id, target_model from raw.handoffs",
    ) == [(None, False, 0.95, 1234, 4000, "bob", "shop", "deepseek-chat")]
    again = ingest(HandoffLogSource(), [tmp_path / "legacy"], settings)
    assert again.files_read == 0
