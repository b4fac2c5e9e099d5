"""`aioa secrets rotate`: re-encrypt every stored secret with the newest AIOA_SECRET_KEYS key. The work is in
`aioa.identity.rotation`, imported on use (`aioa --help` must not load SQLAlchemy or the settings)."""

from __future__ import annotations

import json

import typer

from aioa.identity.cli import JsonFlag

secrets_app = typer.Typer(help="Secrets encrypted at rest (AIOA_SECRET_KEYS): rotate.", no_args_is_help=True)


@secrets_app.command("rotate")
def rotate(as_json: JsonFlag = False) -> None:
    """Re-encrypt the stored secrets with the first key of AIOA_SECRET_KEYS (then the old keys can go)."""
    from aioa.identity.rotation import rotate_secrets
    from aioa.identity.secret_box import SecretKeyError
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
