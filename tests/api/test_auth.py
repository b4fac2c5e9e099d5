"""Sign-in through the API (OAuth2 password flow), refresh rotation, revocation, JWKS, /v1/me, and the per-key
request rate limit (429 with Retry-After)."""

from __future__ import annotations

import jwt
from apps.api.main import create_app
from fastapi.testclient import TestClient

from aioa.identity import accounts, api_keys
from tests.api.conftest import ORG, PASSWORD


def _sign_in(client, email, password=PASSWORD):
    return client.post("/v1/auth/token", data={"username": email, "password": password})


def test_password_flow_refresh_revoke_and_jwks(api):
    accounts.create_user(api.settings, "flow@acme.test", org_id=ORG, role="user", password=PASSWORD)
    answer = _sign_in(api.client, "flow@acme.test")
    assert answer.status_code == 200
    pair = answer.json()
    assert pair["token_type"] == "bearer" and pair["expires_in"] == api.settings.access_token_ttl_s

    keys = api.client.get("/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(pair["access_token"])["kid"]
    assert kid in {key["kid"] for key in keys}
    me = api.client.get("/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"}).json()
    assert (me["email"], me["org_id"], me["role"]) == ("flow@acme.test", ORG, "user")
    assert "ask:run" in me["permissions"] and "quarantine:read" not in me["permissions"]

    renewed = api.client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != pair["refresh_token"]
    reused = api.client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code == 401  # a spent refresh token: the whole session is revoked
    assert (
        api.client.post("/v1/auth/refresh", json={"refresh_token": renewed.json()["refresh_token"]}).status_code == 401
    )

    second = _sign_in(api.client, "flow@acme.test").json()
    assert api.client.post("/v1/auth/revoke", json={"refresh_token": second["refresh_token"]}).json() == {
        "revoked": True
    }
    assert api.client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401


def test_wrong_password_then_lockout(api):
    accounts.create_user(api.settings, "locked@acme.test", org_id=ORG, role="viewer", password=PASSWORD)
    wrong = _sign_in(api.client, "locked@acme.test", "wrong")
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    for _ in range(api.settings.signin_max_failures):
        last = _sign_in(api.client, "locked@acme.test", "wrong")
    assert last.status_code == 423 and int(last.headers["Retry-After"]) > 0
    assert _sign_in(api.client, "locked@acme.test").status_code == 423  # even the right password, while locked
    assert _sign_in(api.client, "nobody@acme.test").status_code == 401


def test_api_keys_and_tampered_tokens(api):
    info, key = api_keys.create_key(api.settings, org_id=ORG, scopes=["read"], name="revoked")
    assert api.client.get("/v1/kpis", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    api_keys.revoke_key(api.settings, info.id)
    assert api.client.get("/v1/kpis", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    token = api.headers["viewer"]["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    forged = jwt.encode({"sub": "x", "org": "globex", "role": "admin"}, key=None, algorithm="none")
    for bad in (f"{header}.{payload}x.{signature}", forged, "Basic dXNlcjpwYXNz"):
        value = bad if bad.startswith("Basic") else f"Bearer {bad}"
        assert api.client.get("/v1/kpis", headers={"Authorization": value}).status_code == 401


def test_request_rate_limit_per_key(api):
    settings = api.settings.model_copy(update={"api_requests_per_minute_per_key": 3})
    _info, key = api_keys.create_key(settings, org_id=ORG, scopes=["read"], name="rate")
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:
        codes = [client.get("/v1/me", headers=headers).status_code for _ in range(4)]
        limited = client.get("/v1/me", headers=headers)
    assert codes == [200, 200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
