"""The dashboard's cookie sessions: a session id names its account until it expires, is signed out, or the account is
disabled; the store keeps only a digest, and the id is no API refresh token."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aioa.identity import accounts, app_sessions, audit, tokens
from aioa.identity.errors import InvalidToken
from aioa.identity.models import RefreshToken, User
from aioa.identity.store import session_scope
from tests.identity.conftest import PASSWORD


@pytest.fixture
def alice(ids):
    accounts.create_user(ids, "alice@acme.test", org_id="acme", role="user", team_id="red", password=PASSWORD)
    return accounts.sign_in(ids, "alice@acme.test", PASSWORD)


def test_a_session_names_its_account_as_the_store_has_it_now(ids, alice):
    session_id = app_sessions.start(ids, alice)
    principal = app_sessions.principal_for(ids, session_id)
    assert (principal.subject, principal.role, principal.team_id) == (alice.subject, "user", "red")
    assert principal.session_id  # the family id, for the audit log
    with session_scope(ids) as session:  # an admin moves alice to another team and makes her a viewer
        row = session.get(User, alice.subject)
        row.role, row.team_id = "viewer", "blue"
    moved = app_sessions.principal_for(ids, session_id)
    assert (moved.role, moved.team_id) == ("viewer", "blue")  # on the next run, without signing in again


def test_sign_out_disable_and_expiry_end_a_session(ids, alice, moved_clock):
    signed_out, disabled, expiring = (app_sessions.start(ids, alice) for _ in range(3))
    assert app_sessions.end(ids, signed_out) is True
    assert app_sessions.principal_for(ids, signed_out) is None
    assert app_sessions.end(ids, signed_out) is False  # already ended
    assert app_sessions.principal_for(ids, expiring) is not None
    moved_clock.advance(ids.app_session_ttl_s + 1)
    assert app_sessions.principal_for(ids, expiring) is None
    moved_clock.advance(-ids.app_session_ttl_s - 1)
    accounts.disable_user(ids, "alice@acme.test")
    assert app_sessions.principal_for(ids, disabled) is None
    assert app_sessions.principal_for(ids, None) is None and app_sessions.principal_for(ids, "guess") is None
    actions = [entry["action"] for entry in audit.export(ids)]
    assert actions.count("app.sign_in") == 3 and actions.count("app.sign_out") == 1


def test_the_store_keeps_a_digest_and_the_id_is_no_refresh_token(ids, alice):
    session_id = app_sessions.start(ids, alice)
    with session_scope(ids, write=False) as session:
        stored = list(session.scalars(select(RefreshToken.token_hash)))
    assert stored and session_id not in stored
    with pytest.raises(InvalidToken, match="unknown"):
        tokens.refresh_tokens(ids, session_id)  # the API's refresh endpoint does not take the cookie
    assert tokens.revoke_family(ids, session_id) is False


def test_the_csrf_token_belongs_to_one_nonce(ids):
    nonce = app_sessions.new_csrf_nonce()
    token = app_sessions.csrf_token(ids, nonce)
    assert app_sessions.csrf_matches(ids, nonce, token)
    assert not app_sessions.csrf_matches(ids, app_sessions.new_csrf_nonce(), token)
    assert not app_sessions.csrf_matches(ids, nonce, None) and not app_sessions.csrf_matches(ids, None, token)
