"""A verified access token's claims are kept (its signature is checked once), but never past its expiry, for a
retired key, or for any other string: one changed character is verified afresh and refused."""

from __future__ import annotations

import time

import pytest

from aioa.identity import accounts, tokens
from aioa.identity.errors import InvalidToken
from tests.identity.conftest import PASSWORD


@pytest.fixture
def alice(ids):
    accounts.create_user(ids, "alice@acme.test", org_id="acme", role="user", team_id="red", password=PASSWORD)
    return accounts.sign_in(ids, "alice@acme.test", PASSWORD)


def test_a_kept_token_still_expires(ids, alice, monkeypatch):
    token = tokens.issue_tokens(ids, alice).access_token
    assert tokens.verify_access_token(ids, token).subject == alice.subject
    assert any(key[0] == token for key in tokens._verified)  # kept: the next call skips the signature
    assert tokens.verify_access_token(ids, token).subject == alice.subject
    real = time.time
    monkeypatch.setattr(tokens.time, "time", lambda: real() + ids.access_token_ttl_s + tokens.LEEWAY_S + 1)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify_access_token(ids, token)


def test_only_the_exact_string_is_kept(ids, alice):
    token = tokens.issue_tokens(ids, alice).access_token
    tokens.verify_access_token(ids, token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    with pytest.raises(InvalidToken, match="signature"):
        tokens.verify_access_token(ids, forged)


def test_a_kept_token_of_a_retired_key_is_refused(ids, alice):
    token = tokens.issue_tokens(ids, alice).access_token
    tokens.verify_access_token(ids, token)
    kid = tokens.jwks(ids)["keys"][0]["kid"]
    tokens.rotate_signing_key(ids)
    tokens.retire_signing_key(ids, kid)
    with pytest.raises(InvalidToken, match="retired|unknown"):
        tokens.verify_access_token(ids, token)
