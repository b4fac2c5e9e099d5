"""Secrets the identity store keeps (signing private keys, webhook signing secrets) encrypted at rest.

With `AIOA_SECRET_KEYS` (Fernet keys, comma-separated, newest first) a secret column is stored as
`fernet:<token>` (MultiFernet: encrypted with the first key, read with any). Rotation: put a new key in front, run
`aioa secrets rotate` (re-encrypts every stored secret with it), then drop the old key. Without keys secrets are
stored as before (in the clear; `aioa doctor` warns), and clear values already stored stay readable with keys set
until `aioa secrets rotate` encrypts them.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

PREFIX = "fernet:"


class SecretKeyError(RuntimeError):
    """A stored secret cannot be read with the configured AIOA_SECRET_KEYS; the message says what to do."""


@lru_cache(maxsize=8)
def _box(keys: str) -> MultiFernet | None:
    parts = [key.strip() for key in keys.split(",") if key.strip()]
    if not parts:
        return None
    try:
        return MultiFernet([Fernet(key) for key in parts])
    except ValueError as error:
        raise SecretKeyError(
            "AIOA_SECRET_KEYS holds a key that is not a Fernet key (32 url-safe base64 bytes); make one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        ) from error


def secret_box() -> MultiFernet | None:
    """The configured keys, or None when AIOA_SECRET_KEYS is unset (secrets stored in the clear)."""
    from aioa.settings import get_settings

    keys = get_settings().secret_keys
    return _box(keys.get_secret_value()) if keys is not None else None


def seal(value: str) -> str:
    box = secret_box()
    return value if box is None else PREFIX + box.encrypt(value.encode("utf-8")).decode("ascii")


def unseal(value: str) -> str:
    if not value.startswith(PREFIX):
        return value  # stored before keys were configured
    box = secret_box()
    if box is None:
        raise SecretKeyError(
            "the identity store's secrets are encrypted but AIOA_SECRET_KEYS is not set: set it to the keys they "
            "were encrypted with"
        )
    try:
        return box.decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretKeyError(
            "a stored secret cannot be decrypted with AIOA_SECRET_KEYS: the key it was encrypted with is not among "
            "them (a wrong key, or an old key dropped before `aioa secrets rotate` ran); put that key back"
        ) from None


class EncryptedText(TypeDecorator):
    """A text column sealed with AIOA_SECRET_KEYS on write and unsealed on read."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(value)
