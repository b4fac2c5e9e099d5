"""The generator: deterministic, seasonal, every quirk present, and its truths match a correct ingestion."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from aioa.generate import generate
from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings


def digest(folder: Path) -> str:
    hasher = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            hasher.update(str(path.relative_to(folder)).encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "data"
    generate(out, size="small", seed=42)
    return out


def test_same_seed_same_bytes_other_seed_other_data(sample, tmp_path):
    generate(tmp_path / "again", seed=42)
    generate(tmp_path / "other", seed=43)
    assert digest(tmp_path / "again") == digest(sample)
    assert digest(tmp_path / "other") != digest(sample)


def test_calendar_seasonality_and_holidays(sample):
    truth = json.loads((sample / "truth" / "expected_totals.json").read_text())["claude_code"]
    calls_per_day = Counter()
    for row in truth["per_day_model"]:
        calls_per_day[row["date"]] += row["calls"]
    days = [date.fromisoformat(day) for day in calls_per_day]
    assert (max(days) - min(days)).days >= 119
    weekday = [calls for day, calls in calls_per_day.items() if date.fromisoformat(day).weekday() < 5]
    weekend = [calls for day, calls in calls_per_day.items() if date.fromisoformat(day).weekday() >= 5]
    assert sum(weekday) / len(weekday) > 3 * sum(weekend) / max(len(weekend), 1)
    assert calls_per_day.get("2026-10-12", 0) < sum(weekday) / len(weekday) / 3  # a holiday


def test_every_quirk_is_present(sample):
    lines = [
        line
        for path in sample.glob("claude-code/*/.claude/projects/**/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    keys = Counter(
        (r["message"]["id"], r["requestId"])
        for r in records
        if r.get("type") == "assistant" and "usage" in r.get("message", {})
    )
    assert sum(1 for count in keys.values() if count > 1) > 100  # streamed snapshots and replays
    assert sum(1 for r in records if r.get("type") == "progress" and r["data"]["type"] == "agent_progress") > 10
    assert any(sample.glob("claude-code/*/.claude/projects/*/*/subagents/agent-*.jsonl"))
    assert sum(1 for r in records if r.get("message", {}).get("model") == "<synthetic>") > 10
    tool_names = {
        block["name"]
        for r in records
        if r.get("type") == "assistant"
        for block in r["message"].get("content", [])
        if block["type"] == "tool_use"
    }
    assert "mcp__plugin_context7_context7__get-library-docs" in tool_names and "Task" in tool_names
    cache = Counter(
        ("5m" if r["message"]["usage"]["cache_creation"]["ephemeral_5m_input_tokens"] else "1h")
        for r in records
        if r.get("type") == "assistant"
        and "cache_creation" in r["message"]["usage"]
        and r["message"]["model"] != "<synthetic>"
    )
    assert cache["5m"] > 100 and cache["1h"] > 100


def test_every_session_belongs_to_the_one_user_whose_logs_hold_it(sample):
    """A Claude Code session is one user's: its id is in one user's config dir only (a resumed session replays that
    user's own earlier lines), and an id or path that names a user names that user."""
    from aioa.generate.world import OTEL_USERS, USERS

    people = set(USERS) | set(OTEL_USERS)
    holders: dict[str, set[str]] = {}
    for path in sample.glob("claude-code/*/.claude/projects/**/*.jsonl"):
        user = path.relative_to(sample / "claude-code").parts[0]
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "sessionId" in record:
                holders.setdefault(record["sessionId"], set()).add(user)
                named = {person for person in people if record["sessionId"].startswith(f"{person}-")}
                assert named <= {user}, (path, record["sessionId"])
            if str(record.get("cwd", "")).startswith("/home/"):
                assert record["cwd"].split("/")[2] == user, (path, record["cwd"])
    assert len(holders) > 100
    assert {session: users for session, users in holders.items() if len(users) > 1} == {}
    for path in sample.glob("handoffs/*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and row.get("user_id") and row.get("session_id"):
                assert row["session_id"].startswith(f"{row['user_id']}-"), row["session_id"]


def test_ingestion_finds_exactly_the_generated_truth(sample, tmp_path):
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir()
    (settings.home / "attribution.yaml").write_text((sample / "attribution.yaml").read_text())
    summary = ingest(ClaudeCodeSource(), sorted(sample.glob("claude-code/*/.claude")), settings)
    truth = json.loads((sample / "truth" / "expected_totals.json").read_text())["claude_code"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        ours = connection.execute(
            "select strftime(ts_utc, '%Y-%m-%d'), model, count(*), sum(input_tokens), sum(output_tokens), "
            "sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), sum(cache_read_tokens) "
            "from raw.llm_calls where status = 'ok' group by all order by 1, 2"
        ).fetchall()
        synthetic = connection.execute("select count(*) from raw.llm_calls where model = '<synthetic>'").fetchone()[0]
        sessions = connection.execute("select count(distinct session_id) from raw.llm_calls").fetchone()[0]
        orgs = dict(connection.execute("select org_id, count(*) from raw.llm_calls group by 1").fetchall())
    expected = [
        (
            row["date"],
            row["model"],
            row["calls"],
            row["input_tokens"],
            row["output_tokens"],
            row["cache_write_5m_tokens"],
            row["cache_write_1h_tokens"],
            row["cache_read_tokens"],
        )
        for row in truth["per_day_model"]
    ]
    assert [tuple(row) for row in ours] == sorted(expected)
    assert synthetic == truth["synthetic_error_rows"]
    assert sessions == truth["distinct_sessions"]
    assert summary.quarantined == truth["malformed_lines"]
    assert summary.rows_added["tool_calls"] == truth["tool_calls"]
    assert {"acme", "globex", "initech", "default"} <= set(orgs)


def test_labels_lie_inside_the_generated_period(sample):
    anomalies = json.loads((sample / "labels" / "anomalies.json").read_text())
    first, last = json.loads((sample / "truth" / "expected_totals.json").read_text())["days"]
    assert {item["kind"] for item in anomalies} == {
        "cost_spike",
        "usage_surge",
        "error_burst",
        "runaway_agent",
        "latency_degradation",
    }
    assert all(first <= item["start"][:10] <= item["end"][:10] <= last for item in anomalies)
    routing = (sample / "labels" / "routing_truth.csv").read_text().splitlines()
    assert len(routing) == 3001
