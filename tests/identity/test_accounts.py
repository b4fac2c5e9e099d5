"""Local accounts: argon2 hashes, lockout, per-client sign-in rate limit, disabled users, federated users, teams,
tenant documents."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from aioa.identity import accounts, audit
from aioa.identity.errors import AccountLocked, InvalidCredentials, SignInFailed, SignInRateLimited
from aioa.identity.models import User
from aioa.identity.store import session_scope
from tests.identity.conftest import CHEAP_HASHER, PASSWORD


def _stored_hash(ids, email: str) -> str:
    with session_scope(ids, write=False) as session:
        return session.scalar(select(User.password_hash).where(User.email == email))


def _actions(ids) -> list[str]:
    return [entry["action"] for entry in audit.export(ids)]


def test_argon2_round_trip_and_wrong_password(ids):
    user = accounts.create_user(ids, " Bob@Acme.test ", org_id="acme", role="viewer", password=PASSWORD)
    assert user.email == "bob@acme.test"
    stored = _stored_hash(ids, "bob@acme.test")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    principal = accounts.sign_in(ids, "BOB@acme.test", PASSWORD)
    assert (principal.kind, principal.org_id, principal.role, principal.email) == ("user", "acme", "viewer", user.email)
    with pytest.raises(SignInFailed, match="wrong email or password"):
        accounts.sign_in(ids, "bob@acme.test", PASSWORD + "x")
    with pytest.raises(SignInFailed, match="wrong email or password"):
        accounts.sign_in(ids, "nobody@acme.test", PASSWORD)
    assert _actions(ids) == ["user.add", "signin.ok", "signin.failed", "signin.failed"]


def test_hash_is_upgraded_when_the_parameters_change(ids, monkeypatch):
    accounts.create_user(ids, "carol@acme.test", org_id="acme", role="user", password=PASSWORD)
    cheap = _stored_hash(ids, "carol@acme.test")
    assert "m=8192,t=1,p=1" in cheap
    stronger = PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", stronger)
    accounts.sign_in(ids, "carol@acme.test", PASSWORD)
    upgraded = _stored_hash(ids, "carol@acme.test")
    assert "m=16384,t=2,p=1" in upgraded and not stronger.check_needs_rehash(upgraded)
    accounts.sign_in(ids, "carol@acme.test", PASSWORD)  # the upgraded hash verifies
    assert _stored_hash(ids, "carol@acme.test") == upgraded  # and is not rewritten again


def test_lockout_after_max_failures_then_unlock(ids, moved_clock):
    ids = ids.model_copy(update={"signin_max_failures": 3, "signin_lockout_s": 60})
    accounts.create_user(ids, "dave@acme.test", org_id="acme", role="user", password=PASSWORD)
    for _ in range(2):
        with pytest.raises(SignInFailed) as failed:
            accounts.sign_in(ids, "dave@acme.test", "guess-guess")
        assert not isinstance(failed.value, AccountLocked)
    with pytest.raises(AccountLocked) as locked:
        accounts.sign_in(ids, "dave@acme.test", "guess-guess")  # the third failure locks
    assert locked.value.retry_after_s == 60
    with pytest.raises(AccountLocked):
        accounts.sign_in(ids, "dave@acme.test", PASSWORD)  # even the right password, while locked
    moved_clock.advance(61)
    assert accounts.sign_in(ids, "dave@acme.test", PASSWORD).email == "dave@acme.test"
    # a good sign-in resets the count: two more failures do not lock
    for _ in range(2):
        with pytest.raises(SignInFailed):
            accounts.sign_in(ids, "dave@acme.test", "guess-guess")
    assert accounts.sign_in(ids, "dave@acme.test", PASSWORD).email == "dave@acme.test"
    actions = _actions(ids)
    assert actions.count("signin.lockout") == 1 and actions.count("signin.locked") == 1
    assert actions.count("signin.failed") == 4


def test_per_client_rate_limit_whatever_the_accounts(ids, moved_clock):
    ids = ids.model_copy(update={"signin_per_minute_per_client": 5})
    accounts.create_user(ids, "erin@acme.test", org_id="acme", role="user", password=PASSWORD)
    for number in range(5):  # password spraying over accounts from one address
        with pytest.raises(SignInFailed) as failed:
            accounts.sign_in(ids, f"user{number}@acme.test", "Summer2026!", client="203.0.113.9")
        assert not isinstance(failed.value, SignInRateLimited)
    with pytest.raises(SignInRateLimited) as limited:
        accounts.sign_in(ids, "erin@acme.test", PASSWORD, client="203.0.113.9")
    assert 1 <= limited.value.retry_after_s <= 60
    assert accounts.sign_in(ids, "erin@acme.test", PASSWORD, client="198.51.100.7").email == "erin@acme.test"
    with pytest.raises(SignInRateLimited):
        accounts.sign_in(ids, "erin@acme.test", PASSWORD, client="203.0.113.9")
    assert _actions(ids).count("signin.rate_limited") == 1  # audited once per window, not per attempt
    moved_clock.advance(61)
    assert accounts.sign_in(ids, "erin@acme.test", PASSWORD, client="203.0.113.9").email == "erin@acme.test"


def test_disabled_user_cannot_sign_in(ids):
    accounts.create_user(ids, "frank@acme.test", org_id="acme", role="admin", password=PASSWORD)
    info = accounts.disable_user(ids, "frank@acme.test")
    assert info.disabled
    with pytest.raises(SignInFailed, match="wrong email or password"):
        accounts.sign_in(ids, "frank@acme.test", PASSWORD)
    with pytest.raises(InvalidCredentials):
        accounts.principal_for(ids, info.id)
    with pytest.raises(LookupError):
        accounts.disable_user(ids, "nobody@acme.test")
    assert "user.disable" in _actions(ids)


def test_create_user_validation_and_listing(ids):
    with pytest.raises(ValueError, match="role"):
        accounts.create_user(ids, "g@acme.test", org_id="acme", role="owner", password=PASSWORD)
    with pytest.raises(ValueError, match="8 characters"):
        accounts.create_user(ids, "g@acme.test", org_id="acme", role="user", password="short")
    accounts.create_user(ids, "g@acme.test", org_id="acme", role="user", team_id="red", usage_user_ids=["u-17", "gina"])
    with pytest.raises(ValueError, match="exists"):
        accounts.create_user(ids, "G@acme.test", org_id="globex", role="user")
    accounts.create_user(ids, "h@globex.test", org_id="globex", role="viewer", team_id="blue")
    assert [user.email for user in accounts.list_users(ids)] == ["g@acme.test", "h@globex.test"]
    [gina] = accounts.list_users(ids, org_id="acme")
    assert gina.usage_user_ids == ("u-17", "gina") and gina.team_id == "red"
    assert accounts.principal_for(ids, gina.id).usage_user_ids == ("u-17", "gina")
    assert accounts.list_teams(ids, "acme") == ["red"] and accounts.list_teams(ids, "globex") == ["blue"]
    with pytest.raises(SignInFailed):  # no password: single sign-on only
        accounts.sign_in(ids, "g@acme.test", "")


def test_federated_user_is_created_once_and_follows_the_provider(ids):
    issuer = "https://idp.example"
    first = accounts.find_or_create_federated(
        ids, issuer=issuer, subject="sub-1", email="ivy@acme.test", org_id="acme", role="viewer", team_id="red"
    )
    again = accounts.find_or_create_federated(
        ids, issuer=issuer, subject="sub-1", email="ivy@acme.test", org_id="acme", role="user", team_id="blue"
    )
    assert again.subject == first.subject and (again.role, again.team_id) == ("user", "blue")
    other_issuer = accounts.find_or_create_federated(
        ids, issuer="https://other.example", subject="sub-1", email="ivy2@acme.test", org_id="acme", role="viewer"
    )
    assert other_issuer.subject != first.subject
    assert len(accounts.list_users(ids)) == 2
    accounts.create_user(ids, "local@acme.test", org_id="acme", role="admin", password=PASSWORD)
    with pytest.raises(SignInFailed, match="already has an account"):  # never linked to a local account by email
        accounts.find_or_create_federated(
            ids, issuer=issuer, subject="sub-9", email="local@acme.test", org_id="acme", role="admin"
        )
    accounts.disable_user(ids, "ivy@acme.test")
    with pytest.raises(SignInFailed, match="disabled"):
        accounts.find_or_create_federated(
            ids, issuer=issuer, subject="sub-1", email="ivy@acme.test", org_id="acme", role="user"
        )


def test_tenant_document_round_trip_and_audit(ids):
    assert accounts.get_tenant_document(ids, "acme") == {}
    document = {"branding": {"name": "Acme", "colour": "#ff0000"}, "budgets": {"monthly_usd": 1200.5}}
    accounts.put_tenant_document(ids, "acme", document, actor="operator")
    assert accounts.get_tenant_document(ids, "acme") == document
    assert accounts.get_tenant_document(ids, "globex") == {}
    accounts.put_tenant_document(ids, "acme", {**document, "retention_days": 90}, actor="operator")
    [*_, last] = audit.export(ids, org_id="acme")
    assert (last["action"], last["detail"]) == ("settings.put", {"changed": ["retention_days"]})


def test_cheap_hasher_is_what_the_fixture_uses(ids):
    assert accounts.HASHER is CHEAP_HASHER


def test_stale_sign_in_windows_are_pruned(ids, moved_clock):
    from sqlalchemy import func

    from aioa.identity.models import SignInWindow

    for number in range(3):
        with pytest.raises(SignInFailed):
            accounts.sign_in(ids, "x@acme.test", "whatever1", client=f"10.0.0.{number}")
    moved_clock.advance(3601)
    with pytest.raises(SignInFailed):
        accounts.sign_in(ids, "x@acme.test", "whatever1", client="10.0.0.99")
    with session_scope(ids, write=False) as session:
        assert session.scalars(select(SignInWindow.client)).all() == ["10.0.0.99"]
        assert session.scalar(select(func.count()).select_from(SignInWindow)) == 1
