"""POST /v1/handoffs and /v1/events: whole-batch validation (422 naming index and field, batch quarantined, nothing
written), idempotence on event ids, the org from the credential only, and the pipeline's readers loading the inbox
into the right org."""

from __future__ import annotations

import json
import uuid

from aioa.ingest.registry import BY_NAME
from aioa.ingest.runner import ingest
from aioa.warehouse.snapshots import open_snapshot
from tests.api.conftest import ORG, OTHER


def _handoff(**fields) -> dict:
    return {
        "handoff_id": f"h-{uuid.uuid4().hex}",
        "ts": "2026-01-05T10:00:00Z",
        "task_id": f"t-{uuid.uuid4().hex}",
        "target_model": "claude-haiku-4-5",
        "task_text": "rename a variable",
        "success": True,
        "quality_score": 0.9,
        "cost_usd": 0.0125,
        "input_tokens": 1200,
        "output_tokens": 300,
    } | fields


def _event(**fields) -> dict:
    return {
        "event_id": f"e-{uuid.uuid4().hex}",
        "ts": "2026-01-05T11:00:00Z",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "message_id": f"msg_{uuid.uuid4().hex}",
        "session_id": "api-session-1",
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_read_tokens": 5000,
        "cache_write_5m_tokens": 300,
        "latency_ms": 1500,
    } | fields


def _inbox_files(api, org: str, folder: str) -> list:
    return sorted((api.home / "inbox" / org / folder).glob("*"))


def test_one_bad_event_refuses_the_batch_names_the_field_and_writes_nothing(api):
    good = _handoff()
    batch = [good, _handoff(cost_usd="cheap"), {k: v for k, v in _handoff().items() if k != "task_id"}]
    response = api.client.post("/v1/handoffs", json=batch, headers=api.headers["key_ingest"])
    assert response.status_code == 422
    problems = {(problem["index"], problem["field"]) for problem in response.json()["detail"]}
    assert problems == {(1, "cost_usd"), (2, "task_id")}
    assert _inbox_files(api, ORG, "handoffs") == []
    spooled = _inbox_files(api, ORG, "quarantine")
    assert [path.name for path in spooled] == [response.json()["quarantined"]]
    kept = json.loads(spooled[0].read_text())
    assert json.loads(kept["body"]) == batch and kept["org_id"] == ORG and "cost_usd" in kept["reason"]
    # nothing was accepted: the good event alone is new
    again = api.client.post("/v1/handoffs", json=[good], headers=api.headers["key_ingest"])
    assert again.status_code == 202 and again.json()["accepted"] == 1


def test_a_refused_batch_is_listed_in_its_orgs_quarantine_only(api):
    response = api.client.post("/v1/events", json=[_event(input_tokens="many")], headers=api.headers["key_ingest"])
    assert response.status_code == 422
    name = response.json()["quarantined"]
    mine = api.client.get("/v1/quarantine", params={"limit": 10_000}, headers=api.headers["admin"]).json()["items"]
    [row] = [row for row in mine if row["source_file"].endswith(name)]
    assert (row["org_id"], row["severity"], row["source_system"]) == (ORG, "rejected", "api:events")
    assert "input_tokens" in row["reason"] and '"many"' in row["raw_excerpt"]
    assert mine[0] == row  # newest first, before the ingested lines
    theirs = api.client.get("/v1/quarantine", params={"limit": 10_000}, headers=api.headers["other_admin"])
    assert theirs.status_code == 200 and not any(name in row["source_file"] for row in theirs.json()["items"])
    (api.home / "inbox" / ORG / "quarantine" / name).unlink()  # the module's other tests count the spooled files


def test_usage_events_are_checked_against_the_contract(api):
    cases = {
        "input_tokens": _event(input_tokens=-1),
        "output_tokens": _event(output_tokens=2.5),
        "ts": _event(ts="yesterday"),
        "status": _event(status="maybe"),
        "surprise": _event(surprise=1),
        "model": {k: v for k, v in _event().items() if k != "model"},
    }
    for field, event in cases.items():
        response = api.client.post("/v1/events", json=[_event(), event], headers=api.headers["key_ingest"])
        assert response.status_code == 422, field
        assert [(p["index"], p["field"]) for p in response.json()["detail"]] == [(1, field)]
    assert _inbox_files(api, ORG, "otel") == []


def test_an_event_naming_another_org_is_refused(api):
    response = api.client.post("/v1/events", json=[_event(org_id=OTHER)], headers=api.headers["key_ingest"])
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "org_id"
    assert not (api.home / "inbox" / OTHER).exists()
    own = api.client.post("/v1/events", json=[_event(org_id=ORG)], headers=api.headers["key_ingest"])
    assert own.status_code == 202


def test_a_second_post_of_the_same_ids_writes_nothing(api):
    first, second = _handoff(), _handoff()
    response = api.client.post("/v1/handoffs", json=[first, second], headers=api.headers["admin"])
    assert response.status_code == 202 and response.json()["accepted"] == 2
    files = _inbox_files(api, ORG, "handoffs")
    again = api.client.post("/v1/handoffs", json=[first, second], headers=api.headers["key_ingest"])
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": [first["handoff_id"], second["handoff_id"]], "file": None}
    assert _inbox_files(api, ORG, "handoffs") == files
    third = _handoff()
    mixed = api.client.post("/v1/handoffs", json=[second, third], headers=api.headers["key_ingest"]).json()
    assert mixed["accepted"] == 1 and mixed["duplicates"] == [second["handoff_id"]]
    written = (api.home / "inbox" / ORG / "handoffs" / mixed["file"]).read_text().splitlines()
    assert [json.loads(line)["handoff_id"] for line in written] == [third["handoff_id"]]


def test_ndjson_bodies(api):
    events = [_event(), _event()]
    body = "\n".join(json.dumps(event) for event in events) + "\n"
    response = api.client.post(
        "/v1/events",
        content=body,
        headers=api.headers["key_ingest"] | {"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202 and response.json()["accepted"] == 2
    broken = api.client.post(
        "/v1/events",
        content="{}\nnot json\n",
        headers=api.headers["key_ingest"] | {"Content-Type": "application/x-ndjson"},
    )
    assert broken.status_code == 422 and "line 2" in broken.json()["detail"][0]["message"]


def test_accepted_events_are_ingested_by_the_pipeline_into_the_posting_org(api):
    # acme posts a handoff naming a globex user, and globex posts the same handoff id: the folder decides the org
    # and an id already stored under another org is never merged into it
    acme_handoff = _handoff(user_id="greta")
    acme_event = _event()
    globex_event = _event(model="claude-haiku-4-5", input_tokens=77)
    assert api.client.post("/v1/handoffs", json=[acme_handoff], headers=api.headers["key_ingest"]).status_code == 202
    assert api.client.post("/v1/events", json=[acme_event], headers=api.headers["key_ingest"]).status_code == 202
    headers = api.headers["other_admin"]
    assert api.client.post("/v1/events", json=[globex_event], headers=headers).status_code == 202
    assert api.client.post("/v1/handoffs", json=[acme_handoff], headers=headers).status_code == 202

    for name in ("handoffs", "otel"):
        entry = BY_NAME[name]
        paths = entry.configured_paths(api.settings)
        assert api.home / "inbox" / ORG / name in paths
        ingest(entry.source(), paths, api.settings)

    connection, _ = open_snapshot(api.settings)
    with connection:
        handoffs = connection.execute(
            "select org_id, cost_usd::double, input_tokens, success from raw.handoffs where handoff_id = ?",
            [acme_handoff["handoff_id"]],
        ).fetchall()
        calls = connection.execute(
            "select org_id, model, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, latency_ms"
            " from raw.llm_calls where message_id = ? or message_id = ? order by org_id",
            [acme_event["message_id"], globex_event["message_id"]],
        ).fetchall()
        foreign_reasons = connection.execute(
            "select reason from raw.quarantine where source_file like ?", [f"%/inbox/{OTHER}/handoffs/%"]
        ).fetchall()
    assert handoffs == [(ORG, 0.0125, 1200, True)]
    assert calls == [
        (ORG, "claude-sonnet-4-5", 1000, 200, 5000, 300, 1500),
        (OTHER, "claude-haiku-4-5", 77, 200, 5000, 300, 1500),
    ]
    assert [reason for (reason,) in foreign_reasons] == [
        f"id already belongs to another org: {acme_handoff['handoff_id']}"
    ]


def test_the_daily_row_quota_refuses_a_batch_that_does_not_fit(api):
    from apps.api.main import create_app
    from fastapi.testclient import TestClient

    from aioa.identity import api_keys

    settings = api.settings.model_copy(update={"ingest_rows_per_day_per_tenant": 3})
    _info, key = api_keys.create_key(settings, org_id="initech", scopes=["ingest"], name="quota")
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/events", json=[_event(), _event()], headers=headers).json()["accepted"] == 2
        files = _inbox_files(api, "initech", "otel")
        refused = client.post("/v1/events", json=[_event(), _event()], headers=headers)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert _inbox_files(api, "initech", "otel") == files
        assert client.post("/v1/events", json=[_event()], headers=headers).json()["accepted"] == 1
