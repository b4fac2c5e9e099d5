"""Single sign-on end to end against a real OpenID Connect provider (oidc-provider-mock) on 127.0.0.1: discovery,
JWKS, authorisation code with PKCE, id token validation, and claims/groups mapped to org, team and role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import jwt as pyjwt
import pytest
import werkzeug.serving
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from aioa.identity import accounts, oidc
from aioa.settings import Settings

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")

CLIENT_ID = "aioa-api"
CLIENT_SECRET = "client-secret-for-tests"
REDIRECT_URI = "http://127.0.0.1:8000/v1/auth/oidc/callback"


@dataclass
class MockProvider:
    """A running OpenID provider, and the form bodies our token requests sent it."""

    issuer: str
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def set_user(self, sub: str, claims: dict, *, with_email: bool = True) -> None:
        """The person's claims at the provider (an `email` made from the subject unless given or left out)."""
        if with_email:
            claims = {"email": f"{sub.removesuffix('-sub')}@example.test", **claims}
        httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def authorize(self, authorization_url: str, sub: str) -> dict[str, str]:
        """The person picks `sub` on the provider's sign-in form (a POST, no browser); returns the callback's query."""
        response = httpx.post(authorization_url, data={"sub": sub}, timeout=5)
        assert response.status_code == 302, response.text
        return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()}


def _recording(app, token_requests: list[dict[str, str]]):
    """WSGI middleware keeping the form of each POST /oauth2/token (to see the PKCE verifier on the wire)."""

    def middleware(environ, start_response):
        if environ["PATH_INFO"] == "/oauth2/token" and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            token_requests.append({key: values[0] for key, values in parse_qs(body.decode()).items()})
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return middleware


@pytest.fixture(scope="module")
def provider() -> Iterator[MockProvider]:
    token_requests: list[dict[str, str]] = []
    app = _recording(oidc_provider_mock.app(require_nonce=True), token_requests)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield MockProvider(issuer=f"http://127.0.0.1:{server.server_port}", token_requests=token_requests)
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture
def sso(settings: Settings, provider: MockProvider) -> Settings:
    oidc.clear_caches()
    return settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr(CLIENT_SECRET),
        }
    )


def _sign_in(settings: Settings, provider: MockProvider, sub: str) -> oidc.FederatedIdentity:
    """The whole round trip: our redirect, the provider's form, the callback through the cookie."""
    url, pending = oidc.start_login(settings, redirect_uri=REDIRECT_URI, next_path="/reports")
    params = provider.authorize(url, sub)
    return oidc.complete_login(settings, params, oidc.open_pending(settings, oidc.seal_pending(settings, pending)))


def _write_groups(settings: Settings, text: str) -> None:
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    (Path(settings.home) / oidc.GROUPS_FILE).write_text(text, encoding="utf-8")


# --- Success ---------------------------------------------------------------------------------------------------------


def test_direct_claims_give_org_team_and_role(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("alice-sub", {"email": "alice@acme.example", "org": "acme", "team": "platform", "role": "Admin"})

    identity = _sign_in(sso, provider, "alice-sub")

    assert (identity.issuer, identity.subject, identity.email) == (provider.issuer, "alice-sub", "alice@acme.example")
    assert (identity.org_id, identity.team_id, identity.role) == ("acme", "platform", "admin")


def test_authorisation_request_uses_pkce_s256_state_and_nonce(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("pkce-sub", {"org": "acme", "role": "viewer"})
    url, pending = oidc.start_login(sso, redirect_uri=REDIRECT_URI)
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}

    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending.code_verifier.encode()).digest()).rstrip(b"=")
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] == challenge.decode()
    assert (query["state"], query["nonce"], query["client_id"]) == (pending.state, pending.nonce, CLIENT_ID)
    assert "openid" in query["scope"].split()
    assert 43 <= len(pending.code_verifier) <= 128

    provider.token_requests.clear()
    oidc.complete_login(sso, provider.authorize(url, "pkce-sub"), pending)
    (sent,) = provider.token_requests
    assert sent["grant_type"] == "authorization_code"
    assert sent["code_verifier"] == pending.code_verifier  # the verifier travels only on the back channel
    assert sent["redirect_uri"] == REDIRECT_URI


def test_groups_map_to_org_team_and_role(sso: Settings, provider: MockProvider) -> None:
    _write_groups(
        sso,
        "groups:\n"
        "  acme-platform: {org: acme, team: platform, role: user}\n"
        "  acme-admins: {org: acme, role: admin}\n"
        "  globex-admins: {org: globex, role: admin}\n",
    )
    provider.set_user("bob-sub", {"email": "bob@acme.example", "groups": ["acme-platform", "acme-admins", "chess"]})
    provider.set_user("carol-sub", {"groups": ["acme-platform"]})
    # Her org claim says acme: a group of another org grants her nothing here.
    provider.set_user("dana-sub", {"org": "acme", "groups": ["globex-admins", "acme-platform"]})

    bob, carol, dana = (_sign_in(sso, provider, sub) for sub in ("bob-sub", "carol-sub", "dana-sub"))

    assert (bob.org_id, bob.team_id, bob.role) == ("acme", "platform", "admin")  # the strongest mapped role
    assert (carol.org_id, carol.team_id, carol.role) == ("acme", "platform", "user")
    assert (dana.org_id, dana.team_id, dana.role) == ("acme", "platform", "user")


def test_default_role_from_the_groups_file(sso: Settings, provider: MockProvider) -> None:
    _write_groups(sso, "default_role: viewer\n")
    provider.set_user("gus-sub", {"org": "initech"})

    identity = _sign_in(sso, provider, "gus-sub")

    assert (identity.org_id, identity.team_id, identity.role) == ("initech", None, "viewer")


# --- Refusals --------------------------------------------------------------------------------------------------------


def test_missing_org_is_refused_without_a_default(sso: Settings, provider: MockProvider) -> None:
    _write_groups(sso, "groups:\n  acme-admins: {org: acme, role: admin}\n")
    provider.set_user("eve-sub", {"email": "eve@nowhere.example", "role": "admin", "groups": ["chess"]})

    with pytest.raises(oidc.SignInRefused, match=r"no org for eve@nowhere\.example.*chess.*no default org"):
        _sign_in(sso, provider, "eve-sub")


def test_unknown_role_is_refused(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("frank-sub", {"org": "acme", "role": "superuser"})

    with pytest.raises(oidc.SignInRefused, match="unknown role.*superuser.*admin, user, viewer"):
        _sign_in(sso, provider, "frank-sub")


def test_missing_role_is_refused(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("hank-sub", {"org": "acme"})

    with pytest.raises(oidc.SignInRefused, match=r"no role for hank@example\.test"):
        _sign_in(sso, provider, "hank-sub")


def test_missing_email_is_refused_and_an_email_shaped_username_is_used(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("quinn-sub", {"org": "acme", "role": "user"}, with_email=False)
    provider.set_user(
        "entra-sub", {"org": "acme", "role": "user", "preferred_username": "rae@acme.example"}, with_email=False
    )

    with pytest.raises(oidc.SignInRefused, match="no email address for quinn-sub"):
        _sign_in(sso, provider, "quinn-sub")
    assert _sign_in(sso, provider, "entra-sub").email == "rae@acme.example"


def test_groups_of_two_orgs_are_refused(sso: Settings, provider: MockProvider) -> None:
    _write_groups(sso, "groups:\n  acme-users: {org: acme, role: user}\n  globex-users: {org: globex, role: user}\n")
    provider.set_user("ivy-sub", {"groups": ["acme-users", "globex-users"]})

    with pytest.raises(oidc.SignInRefused, match="different orgs \\(acme, globex\\)"):
        _sign_in(sso, provider, "ivy-sub")


def test_invalid_groups_file_is_refused(sso: Settings, provider: MockProvider) -> None:
    _write_groups(sso, "groups:\n  acme-admins: {org: acme, role: owner}\n")
    provider.set_user("jim-sub", {"groups": ["acme-admins"]})

    with pytest.raises(oidc.SignInRefused, match="not a valid group mapping"):
        _sign_in(sso, provider, "jim-sub")


def test_tampered_state_is_refused(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("kim-sub", {"org": "acme", "role": "user"})
    url, pending = oidc.start_login(sso, redirect_uri=REDIRECT_URI)
    params = provider.authorize(url, "kim-sub")

    with pytest.raises(oidc.OidcError, match="state does not match"):
        oidc.complete_login(sso, {**params, "state": params["state"][:-2] + "xx"}, pending)
    # The cookie holding the pending sign-in cannot be edited either (its signature breaks).
    sealed = oidc.seal_pending(sso, replace(pending, state=params["state"][:-2] + "xx"))
    header, payload, signature = sealed.split(".")
    forged = ".".join([header, oidc.seal_pending(sso, pending).split(".")[1], signature])
    with pytest.raises(oidc.OidcError, match="altered"):
        oidc.open_pending(sso, forged)


def test_replayed_state_is_refused(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("lou-sub", {"org": "acme", "role": "user"})
    url, pending = oidc.start_login(sso, redirect_uri=REDIRECT_URI)
    params = provider.authorize(url, "lou-sub")
    assert oidc.complete_login(sso, params, pending).org_id == "acme"

    with pytest.raises(oidc.OidcError, match="already used"):
        oidc.complete_login(sso, params, pending)
    # A fresh code with the spent state (the provider asked again with the same URL) is refused as well.
    with pytest.raises(oidc.OidcError, match="already used"):
        oidc.complete_login(sso, provider.authorize(url, "lou-sub"), pending)


def test_replayed_state_is_refused_across_processes_with_redis(sso: Settings, provider: MockProvider) -> None:
    shared = sso.model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"})
    provider.set_user("mo-sub", {"org": "acme", "role": "user"})
    url, pending = oidc.start_login(shared, redirect_uri=REDIRECT_URI)
    params = provider.authorize(url, "mo-sub")
    oidc.complete_login(shared, params, pending)

    oidc.clear_caches()  # another API worker: nothing in its memory, the spent state is in Redis
    with pytest.raises(oidc.OidcError, match="already used"):
        oidc.complete_login(shared, params, pending)


def test_expired_pending_sign_in_is_refused(sso: Settings) -> None:
    pending = oidc.PendingLogin("s" * 43, "n" * 43, "v" * 86, REDIRECT_URI, "/", expires_at=int(time.time()) - 1)

    with pytest.raises(oidc.OidcError, match="longer than 10 minutes"):
        oidc.open_pending(sso, oidc.seal_pending(sso, pending))


def test_wrong_nonce_is_refused(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("nat-sub", {"org": "acme", "role": "user"})
    url, pending = oidc.start_login(sso, redirect_uri=REDIRECT_URI)
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["nonce"] = "a-nonce-this-browser-never-got"
    params = provider.authorize(urlunsplit(parts._replace(query=urlencode(query))), "nat-sub")

    with pytest.raises(oidc.OidcError, match="id token is not valid.*nonce"):
        oidc.complete_login(sso, params, pending)


def _id_token_for(provider: MockProvider, client_id: str, sub: str, nonce: str) -> str:
    """An id token the provider issued to another client (`client_id`), by running that client's code flow."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid email",
            "state": "st",
            "nonce": nonce,
        }
    )
    params = provider.authorize(f"{provider.issuer}/oauth2/authorize?{query}", sub)
    response = httpx.post(
        f"{provider.issuer}/oauth2/token",
        data={"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI},
        auth=(client_id, "other-secret"),
        timeout=5,
    )
    response.raise_for_status()
    return response.json()["id_token"]


def test_id_token_for_another_audience_is_refused(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("ola-sub", {"org": "acme", "role": "admin"})
    mine = _id_token_for(provider, CLIENT_ID, "ola-sub", nonce="n-1")
    theirs = _id_token_for(provider, "another-app", "ola-sub", nonce="n-1")

    assert oidc.verify_id_token(sso, mine, nonce="n-1")["sub"] == "ola-sub"
    with pytest.raises(oidc.OidcError, match="id token is not valid.*aud"):
        oidc.verify_id_token(sso, theirs, nonce="n-1")


def test_unsigned_symmetric_and_tampered_id_tokens_are_refused(sso: Settings, provider: MockProvider) -> None:
    provider.set_user("pat-sub", {"org": "acme", "role": "viewer"})
    genuine = _id_token_for(provider, CLIENT_ID, "pat-sub", nonce="n-2")
    claims = pyjwt.decode(genuine, options={"verify_signature": False})
    claims["role"] = "admin"
    (public_key,) = pyjwt.PyJWKSet.from_dict(httpx.get(f"{provider.issuer}/jwks", timeout=5).json()).keys
    public_pem = public_key.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    with_client_secret = pyjwt.encode(claims, CLIENT_SECRET * 2, algorithm="HS256")
    header, _, signature = genuine.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{payload}.{signature}"

    for forged in (unsigned, with_client_secret, _hs256_keyed_with(claims, public_pem), tampered):
        with pytest.raises(oidc.OidcError, match="id token is not valid"):
            oidc.verify_id_token(sso, forged, nonce="n-2")


def _hs256_keyed_with(claims: dict, key: bytes) -> str:
    """HS256 keyed with the provider's public key (PyJWT refuses PEM keys for HMAC, so sign by hand)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def test_provider_error_is_reported(sso: Settings) -> None:
    pending = oidc.PendingLogin("s" * 43, "n" * 43, "v" * 86, REDIRECT_URI, "/", int(time.time()) + 600)

    with pytest.raises(oidc.OidcError, match="did not sign you in: access_denied"):
        oidc.complete_login(sso, {"error": "access_denied", "state": pending.state}, pending)


def test_discovery_of_a_wrong_issuer_is_refused(sso: Settings, provider: MockProvider) -> None:
    with pytest.raises(oidc.ProviderUnavailable, match="discovery document"):
        oidc.discover(sso.model_copy(update={"oidc_issuer": provider.issuer + "/realms/none"}))
    with pytest.raises(oidc.ProviderUnavailable, match="not https"):
        oidc.discover(sso.model_copy(update={"oidc_issuer": "http://idp.example.com"}))


def test_next_stays_on_this_site() -> None:
    assert oidc.safe_next("/reports/daily?org=acme") == "/reports/daily?org=acme"
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", None):
        assert oidc.safe_next(hostile) == "/"


# --- Through the API -------------------------------------------------------------------------------------------------


@pytest.fixture
def api(ids: Settings, provider: MockProvider) -> Iterator[tuple[object, Settings]]:
    """The API app (authentication on) with single sign-on at the test provider, and its fresh identity store."""
    from apps.api.main import create_app
    from fastapi.testclient import TestClient

    oidc.clear_caches()
    settings = ids.model_copy(
        update={
            "auth": "on",
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr(CLIENT_SECRET),
        }
    )
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _api_sign_in(client, provider: MockProvider, sub: str, next_path: str = "/reports/daily"):
    """Browser steps without a browser: our login redirect (sets the cookie), the provider's form, our callback."""
    started = client.get("/v1/auth/oidc/login", params={"next": next_path}, follow_redirects=False)
    assert started.status_code == 302, started.text
    assert started.headers["location"].startswith(f"{provider.issuer}/oauth2/authorize?")
    assert (
        "httponly" in started.headers["set-cookie"].lower() and "samesite=lax" in started.headers["set-cookie"].lower()
    )
    params = provider.authorize(started.headers["location"], sub)
    return client.get("/v1/auth/oidc/callback", params=params), params


def test_api_sign_in_gives_tokens_and_me_shows_the_mapped_principal(api, provider: MockProvider) -> None:
    from aioa.identity import audit

    client, settings = api
    _write_groups(settings, "groups:\n  acme-platform: {org: acme, team: platform, role: user}\n")
    provider.set_user("rita-sub", {"email": "Rita@Acme.example", "groups": ["acme-platform"]})

    answer, params = _api_sign_in(client, provider, "rita-sub")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer" and body["next"] == "/reports/daily"
    assert body["expires_in"] == settings.access_token_ttl_s
    assert answer.headers["cache-control"] == "no-store"
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert {key: me.json()[key] for key in ("kind", "org_id", "team_id", "role", "email")} == {
        "kind": "user",
        "org_id": "acme",
        "team_id": "platform",
        "role": "user",
        "email": "rita@acme.example",
    }
    entries = audit.export(settings)
    assert [entry["action"] for entry in entries if entry["action"].startswith("signin")] == ["signin.federated"]
    assert not any(params["code"] in str(entry) or params["state"] in str(entry) for entry in entries)

    # The pending sign-in was used: the same callback again (the cookie is gone) is refused ...
    again = client.get("/v1/auth/oidc/callback", params=params)
    assert again.status_code == 401 and "no sign-in is pending" in again.json()["detail"]


def test_api_refuses_a_replayed_callback_and_a_person_without_org(api, provider: MockProvider) -> None:
    from aioa.identity import audit

    client, settings = api
    provider.set_user("sam-sub", {"org": "globex", "role": "viewer"})
    started = client.get("/v1/auth/oidc/login", follow_redirects=False)
    cookie = client.cookies.get("aioa_oidc_login")
    params = provider.authorize(started.headers["location"], "sam-sub")
    assert client.get("/v1/auth/oidc/callback", params=params).status_code == 200

    client.cookies.set("aioa_oidc_login", cookie, path="/v1/auth/oidc")  # ... and so is a replay with the cookie kept
    replayed = client.get("/v1/auth/oidc/callback", params=params)
    assert replayed.status_code == 401 and "already used" in replayed.json()["detail"]

    provider.set_user("tom-sub", {"role": "admin"})
    refused, _ = _api_sign_in(client, provider, "tom-sub")
    assert refused.status_code == 403
    assert "no org for tom@example.test" in refused.json()["detail"]
    failures = [entry for entry in audit.export(settings) if entry["action"] == "signin.federated.failed"]
    assert len(failures) == 2 and "no org for tom@example.test" in str(failures[-1]["detail"])


def test_api_login_without_single_sign_on_configured_is_404(api) -> None:
    client, settings = api
    client.app.state.settings = settings.model_copy(update={"oidc_issuer": None})

    answer = client.get("/v1/auth/oidc/login", follow_redirects=False)

    assert answer.status_code == 404 and "AIOA_OIDC_ISSUER" in answer.json()["detail"]


def test_app_claims_map_to_the_same_account_as_the_api(ids: Settings, provider: MockProvider) -> None:
    """The app hands `st.user` (claims Streamlit validated) to `principal_from_claims`: same mapping, same account."""
    oidc.clear_caches()
    settings = ids.model_copy(
        update={"oidc_issuer": provider.issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": SecretStr("x")}
    )
    provider.set_user("uma-sub", {"org": "globex", "team": "ml", "role": "viewer"})
    claims = _sign_in(settings, provider, "uma-sub").claims
    st_user = {**claims, "is_logged_in": True, "provider": "default", "origin": "http://127.0.0.1:8501"}

    first, again = oidc.principal_from_claims(settings, st_user), oidc.principal_from_claims(settings, st_user)

    assert (first.kind, first.org_id, first.team_id, first.role, first.email) == (
        "user",
        "globex",
        "ml",
        "viewer",
        "uma@example.test",
    )
    assert again.subject == first.subject  # one account per (issuer, subject)
    with pytest.raises(oidc.SignInRefused, match="not the configured provider"):
        oidc.principal_from_claims(settings, {**st_user, "iss": "https://idp.elsewhere.example"})
    # An email that belongs to a local account is refused (never linked), with the reason for the app to show.
    accounts.create_user(settings, "vic@example.test", org_id="globex", role="admin", password="a local password")
    provider.set_user("vic-sub", {"org": "globex", "role": "viewer"})
    vic = _sign_in(settings, provider, "vic-sub").claims
    with pytest.raises(oidc.SignInRefused, match="vic@example.test already has an account"):
        oidc.principal_from_claims(settings, vic)
