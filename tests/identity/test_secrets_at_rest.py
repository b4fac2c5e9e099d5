"""AIOA_SECRET_KEYS: webhook secrets and signing private keys stored sealed (Fernet), readable, rotated to a new key
(after which the old one can go), a wrong key refused with a clear message; without keys stored as before."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from aioa.doctor import _secret_keys_check
from aioa.identity import store
from aioa.identity.models import SigningKey
from aioa.identity.rotation import rotate_secrets
from aioa.identity.secret_box import SecretKeyError
from aioa.identity.tokens import rotate_signing_key
from aioa.settings import Settings
from aioa.webhooks.endpoints import add_endpoint, endpoint_row, new_secret

OLD, NEW, WRONG = (Fernet.generate_key().decode() for _ in range(3))


def stored_columns(settings: Settings) -> tuple[str, str]:
    with store.engine_for(settings).connect() as connection:
        secret = connection.execute(text("select secret from webhook_endpoints")).scalar_one()
        pem = connection.execute(text("select private_pem from signing_keys")).scalar_one()
    return secret, pem


def read_back(settings: Settings, endpoint_id: str) -> tuple[str, str]:
    with store.session_scope(settings, write=False) as session:
        pem = session.scalars(select(SigningKey)).one().private_pem
    return endpoint_row(settings, "acme", endpoint_id).secret, pem


def add_secrets(settings: Settings) -> tuple[str, str]:
    secret = new_secret()
    endpoint = add_endpoint(settings, org_id="acme", url="https://hooks.example.com/a", secret=secret, events=["*"])
    rotate_signing_key(settings)
    return secret, endpoint.id


def test_sealed_readable_rotated_and_a_wrong_key_refused(ids, monkeypatch):
    monkeypatch.setenv("AIOA_SECRET_KEYS", OLD)
    secret, endpoint_id = add_secrets(ids)
    stored_secret, stored_pem = stored_columns(ids)
    assert stored_secret.startswith("fernet:") and secret not in stored_secret
    assert stored_pem.startswith("fernet:") and "PRIVATE KEY" not in stored_pem
    assert read_back(ids, endpoint_id)[0] == secret
    assert read_back(ids, endpoint_id)[1].startswith("-----BEGIN PRIVATE KEY-----")

    monkeypatch.setenv("AIOA_SECRET_KEYS", f"{NEW},{OLD}")  # new key in front
    assert rotate_secrets(ids) == 2
    assert stored_columns(ids)[0] != stored_secret
    monkeypatch.setenv("AIOA_SECRET_KEYS", NEW)  # the old key dropped after the rotation
    assert read_back(ids, endpoint_id)[0] == secret

    monkeypatch.setenv("AIOA_SECRET_KEYS", WRONG)
    with pytest.raises(SecretKeyError, match="cannot be decrypted with AIOA_SECRET_KEYS"):
        read_back(ids, endpoint_id)
    monkeypatch.delenv("AIOA_SECRET_KEYS")
    with pytest.raises(SecretKeyError, match="AIOA_SECRET_KEYS is not set"):
        read_back(ids, endpoint_id)


def test_without_keys_stored_as_before_then_sealed_by_rotate(ids, monkeypatch):
    monkeypatch.delenv("AIOA_SECRET_KEYS", raising=False)
    secret, endpoint_id = add_secrets(ids)
    assert stored_columns(ids)[0] == secret
    assert _secret_keys_check(Settings(home=ids.home)).status == "warn"
    with pytest.raises(SecretKeyError, match="no key"):
        rotate_secrets(ids)

    monkeypatch.setenv("AIOA_SECRET_KEYS", NEW)
    assert read_back(ids, endpoint_id)[0] == secret  # clear values stay readable until rotated
    assert rotate_secrets(ids) == 2
    assert all(column.startswith("fernet:") for column in stored_columns(ids))
    assert read_back(ids, endpoint_id)[0] == secret
    assert _secret_keys_check(Settings(home=ids.home)).status == "ok"
