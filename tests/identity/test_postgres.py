"""The identity store on the real PostgreSQL server (127.0.0.1:5432): the migrations build the models' tables in a
fresh database, and accounts, keys, tokens and the audit chain work there, with concurrent audit writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from sqlalchemy import inspect

from aioa.identity import accounts, api_keys, audit, store, tokens
from aioa.identity.authn import authenticate
from aioa.identity.errors import InvalidToken, SignInFailed
from tests.identity.conftest import PASSWORD
from tests.identity.test_store import assert_migrated_like_the_models

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(ids, monkeypatch, pg_databases):
    """Settings whose identity store is a new PostgreSQL database, dropped afterwards."""
    url = pg_databases("aioa_identity")
    monkeypatch.setenv("AIOA_DATABASE_URL", url)
    return ids.model_copy(update={"database_url": url})


def test_migrations_build_the_model_tables(pg):
    engine = store.engine_for(pg)
    assert engine.dialect.name == "postgresql"
    assert_migrated_like_the_models(engine)
    columns = {column["name"]: column for column in inspect(engine).get_columns("audit_log")}
    assert "TIMESTAMP" in str(columns["at"]["type"]) and columns["at"]["type"].timezone
    store.migrate(pg)
    assert_migrated_like_the_models(engine)


def test_accounts_keys_tokens_and_audit_on_postgres(pg, moved_clock):
    pg = pg.model_copy(update={"signin_max_failures": 2})
    user = accounts.create_user(pg, "pat@acme.test", org_id="acme", role="admin", team_id="ops", password=PASSWORD)
    principal = accounts.sign_in(pg, "pat@acme.test", PASSWORD, client="192.0.2.1")
    assert (principal.subject, principal.org_id, principal.team_id) == (user.id, "acme", "ops")

    pair = tokens.issue_tokens(pg, principal)
    assert authenticate(pg, f"Bearer {pair.access_token}").email == "pat@acme.test"
    second = tokens.refresh_tokens(pg, pair.refresh_token)
    with pytest.raises(InvalidToken, match="already used"):
        tokens.refresh_tokens(pg, pair.refresh_token)
    with pytest.raises(InvalidToken, match="signed out"):
        tokens.verify_access_token(pg, second.access_token)

    info, plaintext = api_keys.create_key(pg, org_id="acme", scopes=["read", "ingest"], expires_days=7)
    key_principal = authenticate(pg, f"Bearer {plaintext}")
    assert (key_principal.subject, key_principal.key_scopes) == (info.id, frozenset({"read", "ingest"}))
    [listed] = api_keys.list_keys(pg)
    assert listed.last_used_at is not None and listed.expires_at.tzinfo is not None

    with pytest.raises(SignInFailed):
        accounts.sign_in(pg, "pat@acme.test", "wrong-password")
    with pytest.raises(SignInFailed, match="too many"):
        accounts.sign_in(pg, "pat@acme.test", "wrong-password")
    moved_clock.advance(pg.signin_lockout_s + 1)
    assert accounts.sign_in(pg, "pat@acme.test", PASSWORD).subject == user.id

    accounts.put_tenant_document(pg, "acme", {"branding": {"name": "Acme"}}, actor=principal)
    assert accounts.get_tenant_document(pg, "acme") == {"branding": {"name": "Acme"}}

    entries = audit.export(pg)
    assert [entry["action"] for entry in entries] == [
        "user.add",
        "signin.ok",
        "token.issue",
        "token.refresh",
        "token.reuse_revoked",
        "key.create",
        "signin.failed",
        "signin.lockout",
        "signin.ok",
        "settings.put",
    ]
    assert audit.verify(pg) == audit.AuditVerdict(True, 10, last_hash=entries[-1]["hash"])


def test_concurrent_audit_writers_on_postgres(pg):
    def append(writer: int) -> None:
        for number in range(15):
            audit.record(pg, actor=f"writer-{writer}", action="test.append", detail={"n": number})

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(append, range(6)))
    verdict = audit.verify(pg)
    assert (verdict.ok, verdict.entries) == (True, 90)
    store.dispose_all()
    with psycopg2.connect(pg.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE audit_log SET target = 'x' WHERE seq = 40")
    connection.close()
    assert audit.verify(pg).first_bad_seq == 40
