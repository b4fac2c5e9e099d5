"""Re-encrypting the accounts store's sealed secrets with the newest AIOA_SECRET_KEYS key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from aioa.identity.models import SigningKey
from aioa.identity.secret_box import SecretKeyError, secret_box
from aioa.rules.models import WebhookEndpoint
from aioa.settings import Settings

SEALED_COLUMNS = {SigningKey: ("private_pem",), WebhookEndpoint: ("secret", "previous_secret")}


def rotate_secrets(settings: Settings) -> int:
    """Read every sealed column (with any configured key, or in the clear) and write it back sealed with the
    first key; returns how many rows were rewritten. The old key can be dropped afterwards."""
    from aioa.identity.store import session_scope

    if secret_box() is None:
        raise SecretKeyError("AIOA_SECRET_KEYS is not set: there is no key to encrypt with")
    rewritten = 0
    with session_scope(settings) as session:
        for model, columns in SEALED_COLUMNS.items():
            for row in session.scalars(select(model)):
                for column in columns:
                    flag_modified(row, column)  # written again, so sealed again with the newest key
                rewritten += 1
    return rewritten
