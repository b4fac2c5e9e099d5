"""`aioa secrets rotate`: re-encrypt every stored secret with the newest AIOA_SECRET_KEYS key."""

from __future__ import annotations

import json

import typer
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from aioa.identity.cli import JsonFlag
from aioa.identity.models import SigningKey
from aioa.identity.secret_box import SecretKeyError, secret_box
from aioa.rules.models import WebhookEndpoint
from aioa.settings import Settings

secrets_app = typer.Typer(help="Secrets encrypted at rest (AIOA_SECRET_KEYS): rotate.", no_args_is_help=True)

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


@secrets_app.command("rotate")
def rotate(as_json: JsonFlag = False) -> None:
    """Re-encrypt the stored secrets with the first key of AIOA_SECRET_KEYS (then the old keys can go)."""
    from aioa.settings import get_settings

    try:
        count = rotate_secrets(get_settings())
    except SecretKeyError as error:
        typer.echo(f"Not rotated: {error}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"rewritten": count}))
    else:
        typer.echo(f"{count} row(s) re-encrypted with the newest key; the older keys can now be removed.")
