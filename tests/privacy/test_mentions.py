"""Delete's raw transaction on a few hand-written rows: an identifier named after the person (a session id copied
into a colleague's log, a path under their home) is pseudonymised in every row of their org, the same way as in
their own rows; the colleague keeps their user id and measures, and another org's `alice` (someone else) is left
alone. No pipeline run: only the transaction is exercised (test_privacy.py runs the whole command)."""

from __future__ import annotations

import duckdb
import pytest

from aioa.privacy.delete import _pseudonymise, org_totals
from aioa.privacy.subjects import pseudonym, resolve_subject
from aioa.settings import Settings
from aioa.warehouse import connect

EMAIL = "alice@acme.example"


def _call(key: str, org: str, user: str, session: str, cwd: str, tokens: int) -> dict:
    return {
        "call_key": key,
        "org_id": org,
        "user_id": user,
        "project_id": "billing",
        "session_id": session,
        "message_id": f"msg_{key}",
        "request_id": f"req_{key}",
        "ts_utc": "2026-11-02 10:00:00",
        "provider": "anthropic",
        "model": "claude-opus-4-6",
        "input_tokens": tokens,
        "output_tokens": tokens,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": tokens / 1000,
        "price_status": "priced",
        "status": "ok",
        "cwd": cwd,
        "source_system": "claude_code",
        "source_file": f"{cwd}/{session}.jsonl",
        "source_line": 1,
        "ingest_run_id": "run-1",
        "contract_version": "1",
    }


CALLS = [
    _call("c1", "acme", "alice", "alice-session_01", "/home/alice/src/billing", 10),
    # arjun's call in a session named after alice (a transcript copied into his home)
    _call("c2", "acme", "arjun", "alice-session_01", "/home/arjun/src/billing", 20),
    _call("c3", "acme", "arjun", "arjun-session_02", "/home/arjun/src/billing", 30),
    # not a token of hers: letters around it
    _call("c4", "acme", "arjun", "malice-session_03", "/home/arjun/src/malice", 40),
    # globex's alice is another person (user ids are names within one org)
    _call("c5", "globex", "alice", "alice-session_09", "/home/alice/src/billing", 50),
]


@pytest.fixture
def warehouse(settings: Settings):
    connection = connect(settings)
    columns = list(CALLS[0])
    connection.executemany(
        "insert into raw.llm_calls by name select * from (select "
        + ", ".join(f"?::{'timestamp' if name == 'ts_utc' else 'varchar'} as {name}" for name in columns)
        + ")",
        [[str(call[name]) for name in columns] for call in CALLS],
    )
    connection.execute(
        "insert into raw.users (user_id, org_id, team_id, name, email) values (?, ?, ?, ?, ?)",
        ["alice", "acme", "acme-platform", "Alice", EMAIL],
    )
    yield connection
    connection.close()


def _calls(connection: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = connection.execute(
        "select call_key, user_id, session_id, cwd, source_file, input_tokens from raw.llm_calls"
    ).fetchall()
    return {key: tuple(rest) for key, *rest in rows}


def test_an_identifier_named_after_them_is_pseudonymised_in_every_row_of_their_org(warehouse, settings):
    before, totals = _calls(warehouse), org_totals(warehouse)
    subject = resolve_subject(settings, EMAIL, warehouse)
    assert subject.pairs == (("acme", "alice"),)

    rows, mentions = _pseudonymise(settings, warehouse, subject)

    alias = pseudonym(settings, "acme", EMAIL)
    after = _calls(warehouse)
    assert after["c1"] == (
        alias,
        f"{alias}-session_01",
        f"/home/{alias}/src/billing",
        f"/home/{alias}/src/billing/{alias}-session_01.jsonl",
        10,
    )
    # arjun's row: his user id, his path and tokens stay; the session id is the one alice's row now carries
    assert after["c2"] == (
        "arjun",
        f"{alias}-session_01",
        "/home/arjun/src/billing",
        f"/home/arjun/src/billing/{alias}-session_01.jsonl",
        20,
    )
    assert after["c3"] == before["c3"] and after["c4"] == before["c4"] and after["c5"] == before["c5"]
    assert rows["raw.llm_calls"] == 1 and mentions["raw.llm_calls"] == 1
    assert org_totals(warehouse) == totals
    assert (
        warehouse.execute(
            "select count(*) from raw.llm_calls where org_id = 'acme' and regexp_matches(session_id || cwd || source_file, '(^|[^a-z])alice')"
        ).fetchone()[0]
        == 0
    )

    again_rows, again_mentions = _pseudonymise(settings, warehouse, resolve_subject(settings, EMAIL, warehouse))
    assert not any(again_rows.values()) and not any(again_mentions.values())
    assert _calls(warehouse) == after
