"""Property-based fuzzing: corrupted lines never crash a run and every bad line is quarantined."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from tests.ingest.transcripts import assistant


def corrupt(line: str, how: str, position: int, junk: str) -> str:
    cut = position % max(len(line), 1)
    if how == "truncate":
        return line[:cut]
    if how == "insert":
        return line[:cut] + junk + line[cut:]
    if how == "wrong_type":
        record = json.loads(line)
        record["message"]["usage"]["output_tokens"] = junk or "x"
        return json.dumps(record)
    if how == "negative":
        record = json.loads(line)
        record["message"]["usage"]["cache_read_input_tokens"] = -position - 1
        return json.dumps(record)
    return junk  # replace the whole line


def is_loadable(line: str) -> bool:
    """The contract, restated independently: valid JSON, a model, a valid timestamp, non-negative integer counts."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    if not isinstance(record, dict) or record.get("type") != "assistant":
        return False
    message = record.get("message") or {}
    usage = message.get("usage") if isinstance(message, dict) else None
    if not isinstance(usage, dict) or not isinstance(message.get("model"), str):
        return False
    try:
        datetime.fromisoformat(record.get("timestamp"))
    except (TypeError, ValueError):
        return False
    counts = [
        usage.get(key)
        for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    ]
    return all(value is None or (type(value) is int and value >= 0) for value in counts)


lines_strategy = st.lists(
    st.tuples(
        st.integers(1, 10_000),
        st.sampled_from(["ok", "truncate", "insert", "wrong_type", "negative", "junk"]),
        st.integers(0, 2_000),
        st.text(max_size=12),
    ),
    min_size=1,
    max_size=25,
)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=lines_strategy)
@example(spec=[(1, "junk", 0, "INF")])  # DuckDB reads INF as a number: valid JSON, but not a record
@example(spec=[(1, "junk", 0, "[1, 2]"), (2, "ok", 0, "")])
def test_corrupted_lines_are_quarantined_and_good_lines_loaded(tmp_path_factory, spec):
    tmp = tmp_path_factory.mktemp("fuzz")
    settings = Settings(home=tmp / "home")
    path = tmp / ".claude" / "projects" / "p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    lines, expected_output = [], 0
    for index, (output, how, position, junk) in enumerate(spec):
        line = json.dumps(assistant(f"msg_{index}", f"req_{index}", output=output))
        if how != "ok":
            line = corrupt(line, how, position, junk).replace("\n", " ").replace("\r", " ")
        lines.append(line)
        if is_loadable(line):
            expected_output += json.loads(line)["message"]["usage"].get("output_tokens") or 0
    path.write_text("\n".join(lines) + "\n")
    summary = ingest(ClaudeCodeSource(), [tmp / ".claude"], settings)
    bad_lines = {
        number
        for number, line in enumerate(lines, 1)
        if line.strip() and not is_loadable(line) and _looks_like_a_call(line)
    }
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        loaded = connection.execute("select coalesce(sum(output_tokens), 0) from raw.llm_calls").fetchone()[0]
        rejected = {
            row[0]
            for row in connection.execute(
                "select source_line from raw.quarantine where severity = 'rejected'"
            ).fetchall()
        }
    assert loaded == expected_output
    assert bad_lines <= rejected
    assert summary.quarantined == len(rejected)


def _looks_like_a_call(line: str) -> bool:
    """Lines that are not JSON, or JSON assistant records with usage: the ones that must be quarantined if bad."""
    try:
        record = json.loads(line)
    except ValueError:
        return True
    return isinstance(record, dict) and record.get("type") == "assistant" and "usage" in (record.get("message") or {})
