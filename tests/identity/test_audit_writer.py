"""The API's audit writer: entries queued from many threads are appended in batches as one exact chain, nothing
queued is lost on close, a failing store makes `submit` refuse (so the API withholds answers) until a retry
succeeds, and the API's middleware records every /v1 request with its status and rows."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from aioa.identity import audit, audit_writer
from aioa.identity.audit_writer import AuditUnavailable, AuditWriter
from aioa.identity.models import AuditEntry
from aioa.identity.store import engine_for
from aioa.settings import Settings


def stored(settings: Settings) -> list:
    """The rows in the store as they are (no flush of this process's writers, unlike audit.export)."""
    with engine_for(settings).connect() as connection:
        return connection.execute(select(AuditEntry).order_by(AuditEntry.seq)).all()


def test_entries_from_many_threads_form_one_exact_chain_and_close_writes_the_rest(ids, monkeypatch):
    monkeypatch.setattr(audit_writer, "FLUSH_EVERY_S", 0.01)
    monkeypatch.setattr(audit_writer, "BATCH", 7)  # several batches, some of them partial
    audit.record(ids, actor="operator", action="before")  # a synchronous entry first: batches chain onto it
    writer = AuditWriter(ids)

    def post(thread: int) -> None:
        for number in range(40):
            writer.submit(
                actor="operator", action="api GET /v1/kpis", target=f"t{thread}-{number}", detail={"n": number}
            )

    threads = [threading.Thread(target=post, args=(thread,)) for thread in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    rows = stored(ids)
    assert [row.seq for row in rows] == list(range(1, 202))
    targets = [row.target for row in rows[1:]]
    assert sorted(targets) == sorted(f"t{thread}-{number}" for thread in range(5) for number in range(40))
    for thread in range(5):  # each thread's entries in the order it queued them
        own = [target for target in targets if target.startswith(f"t{thread}-")]
        assert own == [f"t{thread}-{number}" for number in range(40)]
    verdict = audit.verify(ids)
    assert verdict.ok and verdict.entries == 201 and verdict.last_hash == rows[-1].hash


def test_a_failing_store_refuses_new_entries_until_a_retry_succeeds(ids, monkeypatch):
    writer = AuditWriter(ids)
    writer.submit(actor="operator", action="first")
    real_append = audit.append_entries
    monkeypatch.setattr(audit, "append_entries", lambda *_: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        writer.flush()
    with pytest.raises(AuditUnavailable, match="disk full"):
        writer.submit(actor="operator", action="second")  # the API answers 500 instead of this request's data
    assert writer.pending == 1 and stored(ids) == []  # the queued entry is kept, not dropped
    monkeypatch.setattr(audit, "append_entries", real_append)
    writer.flush()
    writer.submit(actor="operator", action="third")
    writer.close()
    assert [row.action for row in stored(ids)] == ["first", "third"]
    assert audit.verify(ids).ok


def test_export_and_verify_see_entries_still_queued(ids):
    writer = AuditWriter(ids)
    writer.submit(actor="operator", action="queued", org_id="acme")
    assert [entry["action"] for entry in audit.export(ids, org_id="acme")] == ["queued"]
    writer.close()


def test_the_api_audits_each_v1_request_and_writes_them_at_shutdown(ids, monkeypatch):
    from apps.api.main import create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIOA_AUTH", "off")
    monkeypatch.setattr(audit_writer, "FLUSH_EVERY_S", 60.0)  # nothing written before shutdown
    settings = Settings(home=ids.home, auth="off")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200  # not a /v1 request: not audited
        assert client.get("/v1/kpis", params={"team": "x"}).status_code == 503  # no snapshot yet
        assert client.get("/v1/no-such-route").status_code == 404
        with engine_for(settings).connect() as connection:
            assert connection.execute(select(func.count()).select_from(AuditEntry)).scalar() == 0
    rows = stored(settings)
    assert [(row.action, row.target) for row in rows] == [
        ("api GET /v1/kpis", "/v1/kpis"),
        ("api GET /v1/no-such-route", "/v1/no-such-route"),
    ]
    assert '"status":503' in rows[0].detail and '"query":{"team":["x"]}' in rows[0].detail
    assert audit.verify(settings).ok


def test_the_api_withholds_the_answer_when_the_audit_cannot_take_it(ids, monkeypatch):
    from apps.api.main import create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIOA_AUTH", "off")
    app = create_app(Settings(home=ids.home, auth="off"))

    def refuse(**_fields) -> None:
        raise AuditUnavailable("the audit log cannot be written: disk full")

    monkeypatch.setattr(app.state.audit_writer, "submit", refuse)
    answer = TestClient(app).get("/v1/me")
    assert answer.status_code == 500 and "withheld" in answer.json()["detail"]
    assert "operator" not in answer.text  # the route's own body is not sent
