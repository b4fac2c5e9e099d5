"""The audit chain: an edited, deleted or reordered entry is detected at the right seq; concurrent writers from
several processes never fork it."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import text

from aioa.identity import audit
from aioa.identity.principal import Principal
from aioa.identity.store import session_scope
from aioa.settings import Settings


def _five_entries(ids) -> None:
    user = Principal(subject="u1", kind="user", org_id="acme", role="admin", email="ann@acme.test")
    for number in range(1, 6):
        audit.record(ids, actor=user, action="report.read", target=f"daily-{number}", detail={"rows": number * 10})


def test_entries_chain_and_export(ids):
    _five_entries(ids)
    audit.record(ids, actor="operator", action="user.add", org_id="globex", target="bo@globex.test")
    entries = audit.export(ids)
    assert [entry["seq"] for entry in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0]["prev_hash"] == audit.GENESIS
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(entries, entries[1:], strict=False))
    assert entries[2]["actor"] == "user:u1 <ann@acme.test>" and entries[2]["org_id"] == "acme"
    assert entries[2]["detail"] == {"rows": 30} and entries[2]["at"].endswith("Z")
    assert [entry["seq"] for entry in audit.export(ids, org_id="globex")] == [6]
    verdict = audit.verify(ids)
    assert (verdict.ok, verdict.entries, verdict.first_bad_seq, verdict.last_hash) == (
        True,
        6,
        None,
        entries[-1]["hash"],
    )


def test_empty_log_verifies(ids):
    assert audit.verify(ids) == audit.AuditVerdict(True, 0)


def _sql(ids, statement: str, **params) -> None:
    with session_scope(ids) as session:
        session.execute(text(statement), params)


def test_edited_entry_is_detected(ids):
    _five_entries(ids)
    _sql(ids, "UPDATE audit_log SET detail = :detail WHERE seq = 3", detail=json.dumps({"rows": 0}))
    verdict = audit.verify(ids)
    assert (verdict.ok, verdict.first_bad_seq, verdict.entries) == (False, 3, 2)
    assert "altered" in verdict.problem


def test_edit_with_a_recomputed_hash_breaks_the_next_link(ids):
    _five_entries(ids)
    entry = audit.export(ids)[2]
    forged = {**entry, "actor": "someone-else", "detail": audit.canonical_json(entry["detail"])}
    from datetime import datetime

    forged["at"] = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
    new_hash = audit.entry_hash(entry["prev_hash"], forged)
    _sql(ids, "UPDATE audit_log SET actor = 'someone-else', hash = :hash WHERE seq = 3", hash=new_hash)
    verdict = audit.verify(ids)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)
    assert "does not follow" in verdict.problem


def test_deleted_entry_is_detected(ids):
    _five_entries(ids)
    _sql(ids, "DELETE FROM audit_log WHERE seq = 2")
    verdict = audit.verify(ids)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 2)
    assert "missing" in verdict.problem


def test_deleted_and_renumbered_entries_are_detected(ids):
    _five_entries(ids)
    _sql(ids, "DELETE FROM audit_log WHERE seq = 2")
    for seq in (3, 4, 5):
        _sql(ids, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    verdict = audit.verify(ids)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 2)


def test_reordered_entries_are_detected(ids):
    _five_entries(ids)
    _sql(ids, "UPDATE audit_log SET seq = -4 WHERE seq = 4")
    _sql(ids, "UPDATE audit_log SET seq = 4 WHERE seq = 3")
    _sql(ids, "UPDATE audit_log SET seq = 3 WHERE seq = -4")
    verdict = audit.verify(ids)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)


def _append_many(home: str, writer: int, count: int) -> None:
    settings = Settings(home=home)
    for number in range(count):
        audit.record(settings, actor=f"writer-{writer}", action="test.append", detail={"n": number})


@pytest.mark.slow
def test_concurrent_writers_in_separate_processes_keep_one_chain(ids):
    audit.record(ids, actor="operator", action="test.start")  # migrate once before the writers start
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in [pool.submit(_append_many, str(ids.home), writer, 20) for writer in range(3)]:
            future.result()
    verdict = audit.verify(ids)
    assert (verdict.ok, verdict.entries) == (True, 61)
    entries = audit.export(ids)
    assert sorted((entry["actor"], entry["detail"]["n"]) for entry in entries[1:]) == sorted(
        (f"writer-{writer}", number) for writer in range(3) for number in range(20)
    )
