"""The isolation matrix: every endpoint × every principal (roles admin/user/viewer, API key scopes read/ingest/
route/admin, another org's admin, no token) × org parameter (own org, the other org, none).

Documented answers: no token 401; a principal without the endpoint's permission 403; a foreign `org` 403; otherwise
the endpoint's success status (`POST /v1/route` answers 503 here: the sample home has no trained router). A body
never names the other org."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import KEYS, ORG, OTHER, PEOPLE, foreign_names, strings_in

READ = {"admin", "user", "viewer", "key_read", "key_admin", "other_admin"}
ADMINS = {"admin", "key_admin", "other_admin"}
ASK = {"admin", "user", "key_admin", "other_admin"}
ROUTE = {"admin", "user", "key_route", "key_admin", "other_admin"}
INGEST = {"admin", "key_ingest", "key_admin", "other_admin"}
EVERYONE = set(PEOPLE) | set(KEYS)


def _handoff() -> list[dict]:
    return [
        {
            "handoff_id": f"h-{uuid.uuid4().hex}",
            "ts": "2026-01-05T10:00:00Z",
            "task_id": f"t-{uuid.uuid4().hex}",
            "target_model": "claude-haiku-4-5",
            "success": True,
            "cost_usd": 0.01,
        }
    ]


def _event() -> list[dict]:
    return [
        {
            "event_id": f"e-{uuid.uuid4().hex}",
            "ts": "2026-01-05T10:00:00Z",
            "provider": "anthropic",
            "model": "claude-haiku-4-5",
            "input_tokens": 10,
            "output_tokens": 5,
        }
    ]


# (method, path, body factory, who may, success status, org parameter honoured)
ENDPOINTS = [
    ("GET", "/v1/reports/daily", None, READ, 200, True),
    ("GET", "/v1/reports/project", None, READ, 200, True),
    ("GET", "/v1/kpis", None, READ, 200, True),
    ("GET", "/v1/sessions", None, READ, 200, True),
    ("GET", "/v1/projects", None, READ, 200, True),
    ("GET", "/v1/models", None, READ, 200, True),
    ("GET", "/v1/mcp-tools", None, READ, 200, True),
    ("GET", "/v1/team-behaviour", None, READ, 200, True),
    ("GET", "/v1/user-behaviour", None, READ, 200, True),
    ("GET", "/v1/workflow-patterns", None, READ, 200, True),
    ("GET", "/v1/project-phases", None, READ, 200, True),
    ("GET", "/v1/forecasts", None, READ, 200, True),
    ("GET", "/v1/anomalies", None, READ, 200, True),
    ("GET", "/v1/routing/evaluation", None, READ, 200, True),
    ("GET", "/v1/quarantine", None, ADMINS, 200, True),
    ("POST", "/v1/ask", lambda: {"question": "spend by project"}, ASK, 200, True),
    ("POST", "/v1/route", lambda: {"task_text": "rename a variable"}, ROUTE, 503, True),
    ("POST", "/v1/handoffs", _handoff, INGEST, 202, True),
    ("POST", "/v1/events", _event, INGEST, 202, True),
    ("POST", "/v1/traces", lambda: {"resourceSpans": []}, INGEST, 200, True),  # OTLP/JSON export requests
    ("POST", "/v1/logs", lambda: {"resourceLogs": []}, INGEST, 200, True),
    ("POST", "/v1/metrics", lambda: {"resourceMetrics": []}, INGEST, 200, True),
    ("GET", "/v1/me", None, EVERYONE, 200, False),
]


def _own_org(principal: str) -> str:
    return PEOPLE[principal][0] if principal in PEOPLE else ORG


def _call(api, method, path, body, headers, org):
    params = {"org": org} if org else None
    if method == "GET":
        return api.client.get(path, params=params, headers=headers)
    return api.client.post(path, params=params, headers=headers, json=body() if body else None)


@pytest.mark.parametrize(("method", "path", "body", "who", "success", "org_honoured"), ENDPOINTS)
def test_every_endpoint_by_every_principal_and_org(api, method, path, body, who, success, org_honoured):
    foreign_to = {org: foreign_names(api.home, org) for org in (ORG, OTHER)}
    for principal in sorted(EVERYONE):
        own = _own_org(principal)
        foreign = OTHER if own == ORG else ORG
        for org_choice, org in (("own", own), ("foreign", foreign), ("none", None)):
            response = _call(api, method, path, body, api.headers[principal], org)
            forbidden = principal not in who or (org_choice == "foreign" and org_honoured)
            expected = 403 if forbidden else success
            assert response.status_code == expected, (principal, org_choice, response.text[:300])
            if response.status_code < 300:
                leaked = strings_in(response.json()) & foreign_to[own]
                assert not leaked, (principal, org_choice, f"names another org's {sorted(leaked)[:5]}")
    for org in (ORG, OTHER, None):
        response = _call(api, method, path, body, {}, org)
        assert response.status_code == 401, (org, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        response = _call(api, method, path, body, {"Authorization": "Bearer not-a-token"}, org)
        assert response.status_code == 401


def test_the_matrix_is_not_vacuous(api):
    """Own-org answers carry rows (so "never names the other org" was checked on real data)."""
    admin = api.headers["admin"]
    assert len(api.client.get("/v1/reports/daily", headers=admin).json()) > 5
    assert api.client.get("/v1/projects", headers=admin).json()["total"] >= 2
    for principal, org in (("admin", ORG), ("other_admin", OTHER)):
        rows = api.client.get("/v1/projects", headers=api.headers[principal]).json()["items"]
        assert len(rows) >= 2 and {row["org_id"] for row in rows} == {org}
    assert api.client.get("/v1/kpis", headers=admin).json()["current"]["spend_usd"] > 0
    assert api.client.get("/v1/quarantine", headers=admin).status_code == 200


# Routes other modules own, with their own role × org tests.
TESTED_ELSEWHERE = {
    "/v1/settings": "tests/tenants/test_api.py",
    "/v1/billing/usage": "tests/tenants/test_api.py",
    "/v1/incidents/{incident_id}/{action}": "tests/rules/test_incidents.py (a signed token, no principal)",
    "/v1/integrations/slack/commands": "tests/integrations/test_chat_bot.py (a Slack signature, a linked account)",
    "/v1/integrations/teams/messages": "tests/integrations/test_chat_bot.py (a Teams HMAC, a linked account)",
}


def test_every_route_is_in_the_matrix(api):
    """A new /v1 route fails here until it is added to ENDPOINTS (or to TESTED_ELSEWHERE; sign-in routes are
    tested in test_auth and tests/identity)."""
    covered = {path for _, path, *_ in ENDPOINTS} | {"/v1/reports/{kind}"} | set(TESTED_ELSEWHERE)
    routes = {path for path in api.client.app.openapi()["paths"] if path.startswith("/v1/")}
    assert {path for path in routes - covered if not path.startswith("/v1/auth/")} == set()


def test_an_ask_body_cannot_choose_its_scope(api):
    response = api.client.post(
        "/v1/ask", headers=api.headers["admin"], json={"question": "spend by org", "org": OTHER, "scope": "all"}
    )
    assert response.status_code == 422
    answer = api.client.post("/v1/ask", headers=api.headers["admin"], json={"question": "spend by org"}).json()
    assert answer["answered"], answer
    assert {row.get("org_id") for row in answer["rows"]} <= {ORG}
