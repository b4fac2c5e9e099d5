"""Access-token and refresh-token attacks: each forged, stale or revoked token is refused with InvalidToken."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aioa.identity import accounts, audit, tokens
from aioa.identity.authn import authenticate
from aioa.identity.errors import InvalidToken, Unauthenticated
from tests.identity.conftest import PASSWORD


@pytest.fixture
def alice(ids):
    accounts.create_user(ids, "alice@acme.test", org_id="acme", role="user", team_id="red", password=PASSWORD)
    return accounts.sign_in(ids, "alice@acme.test", PASSWORD)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _claims(ids, alice, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": ids.jwt_issuer,
        "aud": ids.jwt_audience,
        "sub": alice.subject,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "kind": "user",
        "org": "acme",
        "role": "user",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _kid(ids) -> str:
    return tokens.jwks(ids)["keys"][0]["kid"]


def test_issued_token_verifies_with_claims_from_the_account(ids, alice):
    pair = tokens.issue_tokens(ids, alice)
    assert pair.token_type == "bearer" and pair.expires_in == 900
    header = jwt.get_unverified_header(pair.access_token)
    assert header["alg"] == "EdDSA" and header["kid"] == _kid(ids)
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert {claims[name] for name in ("org", "team", "role", "kind")} == {"acme", "red", "user"}
    assert claims["exp"] - claims["iat"] == 900
    principal = tokens.verify_access_token(ids, pair.access_token)
    assert (principal.subject, principal.org_id, principal.team_id, principal.role) == (
        alice.subject,
        "acme",
        "red",
        "user",
    )
    assert principal.session_id == claims["sid"]
    assert authenticate(ids, f"Bearer {pair.access_token}").subject == alice.subject


def test_alg_none_is_refused(ids, alice):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": _kid(ids)}).encode())
    payload = _b64(json.dumps(_claims(ids, alice, role="admin")).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        with pytest.raises(InvalidToken):
            tokens.verify_access_token(ids, token)


def test_hs256_signed_with_the_public_key_is_refused(ids, alice):
    tokens.issue_tokens(ids, alice)
    jwk = tokens.jwks(ids)["keys"][0]
    public_key = jwt.PyJWK(jwk).key
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode())
    payload = _b64(json.dumps(_claims(ids, alice, role="admin")).encode())
    for secret in (pem, raw, jwk["x"].encode(), json.dumps(jwk).encode()):
        signature = _b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        with pytest.raises(InvalidToken, match="algorithm 'HS256' is not accepted"):
            tokens.verify_access_token(ids, f"{header}.{payload}.{signature}")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exp": int(time.time()) - 60, "iat": int(time.time()) - 1000, "nbf": int(time.time()) - 1000}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"aud": "someone-else"}, "another audience"),
        ({"exp": None}, "'exp'"),
        ({"nbf": None}, "'nbf'"),
        ({"iat": None}, "'iat'"),
        ({"iss": None}, "'iss'"),
        ({"aud": None}, "'aud'"),
        ({"sub": None}, "'sub'"),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-issuer",
        "wrong-audience",
        "no-exp",
        "no-nbf",
        "no-iat",
        "no-iss",
        "no-aud",
        "no-sub",
    ],
)
def test_validly_signed_but_unacceptable_claims_are_refused(ids, alice, changes, message):
    token = tokens._sign_claims(ids, _claims(ids, alice, **changes))
    with pytest.raises(InvalidToken, match=message):
        tokens.verify_access_token(ids, token)


def test_the_same_claims_correctly_signed_are_accepted(ids, alice):
    """Control for the test above: the helper's tokens are otherwise good."""
    assert tokens.verify_access_token(ids, tokens._sign_claims(ids, _claims(ids, alice))).subject == alice.subject


def test_tampered_payload_is_refused(ids, alice):
    pair = tokens.issue_tokens(ids, alice)
    header, payload, signature = pair.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for change in ({"role": "admin"}, {"org": "globex"}, {"exp": claims["exp"] + 86400}):
        forged = _b64(json.dumps({**claims, **change}).encode())
        with pytest.raises(InvalidToken, match="signature"):
            tokens.verify_access_token(ids, f"{header}.{forged}.{signature}")


def test_unknown_kid_and_foreign_key_are_refused(ids, alice):
    known_kid = _kid(ids)
    foreign = Ed25519PrivateKey.generate()
    claims = _claims(ids, alice)
    with pytest.raises(InvalidToken, match="unknown key"):
        tokens.verify_access_token(ids, jwt.encode(claims, foreign, algorithm="EdDSA", headers={"kid": "not-ours"}))
    with pytest.raises(InvalidToken, match="signature"):  # our kid, someone else's key
        tokens.verify_access_token(ids, jwt.encode(claims, foreign, algorithm="EdDSA", headers={"kid": known_kid}))
    with pytest.raises(InvalidToken, match="kid"):
        tokens.verify_access_token(ids, jwt.encode(claims, foreign, algorithm="EdDSA"))
    with pytest.raises(InvalidToken, match="malformed"):
        tokens.verify_access_token(ids, "not-a-jwt")


def test_token_of_a_disabled_user_is_refused_and_cannot_refresh(ids, alice):
    pair = tokens.issue_tokens(ids, alice)
    accounts.disable_user(ids, "alice@acme.test")
    with pytest.raises(InvalidToken, match="disabled"):
        tokens.verify_access_token(ids, pair.access_token)
    with pytest.raises(InvalidToken):
        tokens.refresh_tokens(ids, pair.refresh_token)


def test_token_of_a_deleted_user_is_refused(ids, alice):
    from sqlalchemy import delete

    from aioa.identity.models import User
    from aioa.identity.store import session_scope

    pair = tokens.issue_tokens(ids, alice)
    with session_scope(ids) as session:
        session.execute(delete(User).where(User.id == alice.subject))
    with pytest.raises(InvalidToken, match="gone or disabled"):
        tokens.verify_access_token(ids, pair.access_token)


def test_token_signed_by_a_retired_key_is_refused(ids, alice):
    pair = tokens.issue_tokens(ids, alice)
    old_kid = jwt.get_unverified_header(pair.access_token)["kid"]
    tokens.retire_signing_key(ids, old_kid)
    with pytest.raises(InvalidToken, match="retired key"):
        tokens.verify_access_token(ids, pair.access_token)
    assert old_kid not in {key["kid"] for key in tokens.jwks(ids)["keys"]}
    fresh = tokens.issue_tokens(ids, alice)  # a new key is made for new tokens
    assert jwt.get_unverified_header(fresh.access_token)["kid"] != old_kid
    assert tokens.verify_access_token(ids, fresh.access_token).subject == alice.subject


def test_refresh_rotates_and_reuse_revokes_the_whole_family(ids, alice):
    first = tokens.issue_tokens(ids, alice)
    second = tokens.refresh_tokens(ids, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert tokens.verify_access_token(ids, second.access_token).subject == alice.subject
    third = tokens.refresh_tokens(ids, second.refresh_token)

    with pytest.raises(InvalidToken, match="already used"):  # the stolen first token, replayed
        tokens.refresh_tokens(ids, first.refresh_token)
    with pytest.raises(InvalidToken, match="revoked"):  # the legitimate holder's newest token died with the family
        tokens.refresh_tokens(ids, third.refresh_token)
    for pair in (first, second, third):  # and so did every access token of the session
        with pytest.raises(InvalidToken, match="signed out"):
            tokens.verify_access_token(ids, pair.access_token)
    assert "token.reuse_revoked" in [entry["action"] for entry in audit.export(ids)]

    other_session = tokens.issue_tokens(ids, alice)  # a separate sign-in is unaffected
    assert tokens.verify_access_token(ids, other_session.access_token).subject == alice.subject


def test_sign_out_revokes_the_family(ids, alice):
    pair = tokens.issue_tokens(ids, alice)
    assert tokens.revoke_family(ids, pair.refresh_token) is True
    with pytest.raises(InvalidToken, match="revoked"):
        tokens.refresh_tokens(ids, pair.refresh_token)
    with pytest.raises(InvalidToken, match="signed out"):
        tokens.verify_access_token(ids, pair.access_token)
    assert tokens.revoke_family(ids, "no-such-token") is False


def test_expired_and_unknown_refresh_tokens_are_refused(ids, alice, moved_clock):
    pair = tokens.issue_tokens(ids, alice)
    with pytest.raises(InvalidToken, match="unknown"):
        tokens.refresh_tokens(ids, "x" + pair.refresh_token)
    moved_clock.advance(ids.refresh_token_ttl_s + 1)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.refresh_tokens(ids, pair.refresh_token)


def test_refresh_tokens_are_stored_hashed(ids, alice):
    from sqlalchemy import select

    from aioa.identity.models import RefreshToken
    from aioa.identity.store import session_scope

    pair = tokens.issue_tokens(ids, alice)
    with session_scope(ids, write=False) as session:
        stored = session.scalars(select(RefreshToken.token_hash)).all()
    assert stored == [hashlib.sha256(pair.refresh_token.encode()).hexdigest()]


def test_rotation_keeps_old_tokens_valid_until_they_expire(ids, alice, moved_clock):
    before = tokens.issue_tokens(ids, alice)
    old_kid = jwt.get_unverified_header(before.access_token)["kid"]
    new_kid = tokens.rotate_signing_key(ids)
    assert new_kid != old_kid
    assert {key["kid"] for key in tokens.jwks(ids)["keys"]} == {old_kid, new_kid}
    after = tokens.issue_tokens(ids, alice)
    assert jwt.get_unverified_header(after.access_token)["kid"] == new_kid
    # rotation logs nobody out: the token signed before it still verifies, as does a refresh of its session
    assert tokens.verify_access_token(ids, before.access_token).subject == alice.subject
    refreshed = tokens.refresh_tokens(ids, before.refresh_token)
    assert jwt.get_unverified_header(refreshed.access_token)["kid"] == new_kid

    moved_clock.advance(ids.access_token_ttl_s + tokens.LEEWAY_S + 1)  # every token the old key signed has expired
    assert {key["kid"] for key in tokens.jwks(ids)["keys"]} == {new_kid}
    with pytest.raises(InvalidToken, match="retired key"):
        tokens.verify_access_token(ids, before.access_token)


def test_authenticate_header_forms(ids, alice):
    pair = tokens.issue_tokens(ids, alice)
    assert authenticate(ids, f"bearer   {pair.access_token}").subject == alice.subject
    for header, message in [
        (None, "missing"),
        ("", "missing"),
        (f"Basic {pair.access_token}", "Bearer"),
        ("Bearer", "Bearer"),
        ("Bearer aioa_nope", "unknown API key"),
        ("Bearer abc.def.ghi", "malformed"),
    ]:
        with pytest.raises(Unauthenticated, match=message):
            authenticate(ids, header)


def test_expired_refresh_tokens_are_pruned_after_a_day(ids, alice, moved_clock):
    from sqlalchemy import func, select

    from aioa.identity.models import RefreshToken
    from aioa.identity.store import session_scope

    old = tokens.issue_tokens(ids, alice)
    tokens.refresh_tokens(ids, old.refresh_token)
    moved_clock.advance(ids.refresh_token_ttl_s + 3600)  # expired, but less than a day ago
    middle = tokens.issue_tokens(ids, alice)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.refresh_tokens(ids, old.refresh_token)
    moved_clock.advance(86400)
    newest = tokens.issue_tokens(ids, alice)
    with session_scope(ids, write=False) as session:  # the first two are gone, the later two (not expired) stay
        assert session.scalar(select(func.count()).select_from(RefreshToken)) == 2
    assert tokens.refresh_tokens(ids, middle.refresh_token).refresh_token
    with pytest.raises(InvalidToken, match="unknown"):
        tokens.refresh_tokens(ids, old.refresh_token)
    assert tokens.refresh_tokens(ids, newest.refresh_token).refresh_token
