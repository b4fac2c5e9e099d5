"""API keys: shown once, stored hashed, scoped, expiring, revocable, last use recorded at most once a minute."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from aioa.identity import api_keys, audit
from aioa.identity.authn import authenticate
from aioa.identity.errors import InvalidCredentials
from aioa.identity.models import ApiKey
from aioa.identity.permissions import allowed, scope_for


def test_key_is_shown_once_and_stored_as_a_digest(ids):
    info, plaintext = api_keys.create_key(ids, org_id="acme", scopes=["ingest"], name="ci")
    assert plaintext.startswith("aioa_") and len(plaintext) >= 45
    assert info.prefix == plaintext[:12] and info.name == "ci" and info.scopes == ("ingest",)
    from aioa.identity.store import session_scope

    with session_scope(ids, write=False) as session:
        row = session.scalar(select(ApiKey))
    assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str([getattr(row, column.name) for column in ApiKey.__table__.columns])
    assert [key.id for key in api_keys.list_keys(ids)] == [info.id]
    assert api_keys.list_keys(ids, org_id="globex") == []
    assert audit.export(ids)[-1]["action"] == "key.create"


def test_scopes_grant_only_their_permissions(ids):
    _, reader = api_keys.create_key(ids, org_id="acme", scopes=["read"])
    _, ingester = api_keys.create_key(ids, org_id="acme", scopes=["ingest", "route"])
    _, admin = api_keys.create_key(ids, org_id="acme", scopes=["admin"])
    read_principal = authenticate(ids, f"Bearer {reader}")
    assert (read_principal.kind, read_principal.org_id, read_principal.role) == ("api_key", "acme", "viewer")
    assert allowed(read_principal, "usage:read") and not allowed(read_principal, "events:write")
    ingest_principal = api_keys.authenticate_key(ids, ingester)
    assert allowed(ingest_principal, "events:write") and allowed(ingest_principal, "route:run")
    assert not allowed(ingest_principal, "usage:read")
    admin_principal = api_keys.authenticate_key(ids, admin)
    assert admin_principal.role == "admin" and allowed(admin_principal, "keys:manage")
    assert scope_for(read_principal).org_ids == ("acme",)


@pytest.mark.parametrize(
    ("scopes", "message"), [([], "one or more"), (["read", "superuser"], "superuser"), (["READ"], "READ")]
)
def test_bad_scopes_are_refused(ids, scopes, message):
    with pytest.raises(ValueError, match=message):
        api_keys.create_key(ids, org_id="acme", scopes=scopes)


def test_expiry(ids, moved_clock):
    info, plaintext = api_keys.create_key(ids, org_id="acme", scopes=["read"], expires_days=2)
    assert (info.expires_at - info.created_at).total_seconds() == 2 * 86400
    moved_clock.advance(2 * 86400 - 60)
    assert api_keys.authenticate_key(ids, plaintext).subject == info.id
    moved_clock.advance(61)
    with pytest.raises(InvalidCredentials, match="expired"):
        api_keys.authenticate_key(ids, plaintext)
    with pytest.raises(ValueError):
        api_keys.create_key(ids, org_id="acme", scopes=["read"], expires_days=0)


def test_revocation_is_immediate(ids):
    info, plaintext = api_keys.create_key(ids, org_id="acme", scopes=["read"])
    api_keys.authenticate_key(ids, plaintext)
    revoked = api_keys.revoke_key(ids, info.id)
    assert revoked.revoked_at is not None
    with pytest.raises(InvalidCredentials, match="revoked"):
        authenticate(ids, f"Bearer {plaintext}")
    with pytest.raises(LookupError):
        api_keys.revoke_key(ids, "no-such-id")
    api_keys.revoke_key(ids, info.id)  # again: no second audit entry
    assert [entry["action"] for entry in audit.export(ids)].count("key.revoke") == 1


def test_unknown_and_tampered_keys(ids):
    _, plaintext = api_keys.create_key(ids, org_id="acme", scopes=["read"])
    for wrong in (plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"), "aioa_" + "x" * 43, "sk-" + plaintext[5:]):
        with pytest.raises(InvalidCredentials):
            api_keys.authenticate_key(ids, wrong)


def test_last_used_is_written_at_most_once_a_minute(ids, moved_clock):
    info, plaintext = api_keys.create_key(ids, org_id="acme", scopes=["read"])
    assert info.last_used_at is None
    api_keys.authenticate_key(ids, plaintext)
    [first] = api_keys.list_keys(ids)
    assert first.last_used_at is not None
    moved_clock.advance(30)
    api_keys.authenticate_key(ids, plaintext)
    [still] = api_keys.list_keys(ids)
    assert still.last_used_at == first.last_used_at
    moved_clock.advance(31)
    api_keys.authenticate_key(ids, plaintext)
    [later] = api_keys.list_keys(ids)
    assert (later.last_used_at - first.last_used_at).total_seconds() >= 61
