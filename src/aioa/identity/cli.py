"""`aioa users`, `aioa keys` and `aioa audit`: accounts, API keys and the audit trail from the operator's shell.

Only typer and rich load with the CLI; the identity store (SQLAlchemy, argon2, Alembic) loads inside a command.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from aioa.reports.output import print_rich_table

users_app = typer.Typer(help="Local accounts: add, list, disable.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for machines: create (shown once), list, revoke.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log: verify, export.", no_args_is_help=True)

console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _settings():
    from aioa.settings import get_settings

    return get_settings()


def _print_json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The user's email (their sign-in name).")],
    org: Annotated[str, typer.Option("--org", help="The org the user belongs to.")],
    role: Annotated[str, typer.Option("--role", help="admin, user or viewer.")],
    team: Annotated[str | None, typer.Option("--team", help="The user's team.")] = None,
    usage_ids: Annotated[
        list[str] | None, typer.Option("--usage-id", help="The user's id in usage logs (repeatable).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (else: single sign-on only).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a local account."""
    from aioa.identity.accounts import create_user

    password = sys.stdin.read().rstrip("\r\n") if password_stdin else None
    try:
        user = create_user(
            _settings(), email, org_id=org, role=role, team_id=team, password=password, usage_user_ids=usage_ids or ()
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    if as_json:
        _print_json(user.to_dict())
    else:
        how = "" if password is not None else " No password: signs in through single sign-on only."
        console.print(f"Added {user.role} {user.email} to org {user.org_id} (id {user.id}).{how}")


@users_app.command("list")
def users_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this org's users.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List accounts."""
    from aioa.identity.accounts import list_users

    users = list_users(_settings(), org_id=org)
    if as_json:
        _print_json([user.to_dict() for user in users])
        return
    table = Table("email", "org", "team", "role", "status", "last sign-in")
    for user in users:
        status = "disabled" if user.disabled else "federated" if user.federated_issuer else "active"
        table.add_row(user.email, user.org_id, user.team_id or "", user.role, status, _when(user.last_signin_at))
    print_rich_table(table)


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Disable an account: it cannot sign in, and its tokens stop working at once."""
    from aioa.identity.accounts import disable_user

    try:
        user = disable_user(_settings(), email)
    except LookupError as error:
        raise _fail(str(error.args[0])) from None
    console.print(f"Disabled {user.email}.")


@users_app.command("demo")
def users_demo() -> None:
    """Demo accounts for the generated sample (acme and globex × admin, user, viewer); their passwords are printed
    once, when they are created."""
    from aioa.identity.demo import DEMO_ACCOUNTS, create_demo_accounts

    created = create_demo_accounts(_settings())
    if not created:
        console.print(
            f"The {len(DEMO_ACCOUNTS)} demo accounts exist already (passwords were shown when they were created). "
            "Remove <AIOA_HOME>/identity.db to make new ones."
        )
        return
    table = Table("email", "password", "org", "role", "team", title="Demo sign-ins (shown only now)")
    for account, password in created:
        table.add_row(account.email, password, account.org_id, account.role, account.team_id or "")
    Console().print(table)  # stdout: the sign-ins are the command's output


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option("--org", help="The org the key acts for.")],
    scopes: Annotated[list[str], typer.Option("--scope", help="ingest, read, route or admin (repeatable).")],
    name: Annotated[str | None, typer.Option("--name", help="What the key is for.")] = None,
    expires: Annotated[int | None, typer.Option("--expires", help="Days until the key expires.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key. The key is printed once: store it now."""
    from aioa.identity.api_keys import create_key

    try:
        info, plaintext = create_key(_settings(), org_id=org, scopes=scopes, name=name, expires_days=expires)
    except ValueError as error:
        raise _fail(str(error)) from None
    if as_json:
        _print_json({"key": plaintext, **info.to_dict()})
        return
    console.print(f"API key {info.id} for org {info.org_id} ({', '.join(info.scopes)}); shown only this once:")
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this org's keys.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List API keys (their prefix, never the key)."""
    from aioa.identity.api_keys import list_keys

    keys = list_keys(_settings(), org_id=org)
    if as_json:
        _print_json([key.to_dict() for key in keys])
        return
    table = Table("org", "name", "scopes", "expires", "revoked", "last used")
    table.columns.insert(0, Column("prefix", no_wrap=True))
    table.columns.insert(0, Column("id", no_wrap=True))  # what `aioa keys revoke` takes: never cut
    for key in keys:
        table.add_row(
            key.id,
            key.prefix,
            key.org_id,
            key.name or "",
            ",".join(key.scopes),
            _when(key.expires_at),
            _when(key.revoked_at),
            _when(key.last_used_at),
        )
    print_rich_table(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `aioa keys list`).")]) -> None:
    """Revoke an API key (effective on its next request)."""
    from aioa.identity.api_keys import revoke_key

    try:
        key = revoke_key(_settings(), key_id)
    except LookupError as error:
        raise _fail(str(error.args[0])) from None
    console.print(f"Revoked API key {key.id} ({key.prefix}…) of org {key.org_id}.")


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Check the hash chain; exits 1 and names the first bad entry when an entry was edited, removed or moved."""
    from dataclasses import asdict

    from aioa.identity.audit import verify

    verdict = verify(_settings())
    if as_json:
        _print_json(asdict(verdict))
    elif verdict.ok:
        console.print(f"Audit log intact: {verdict.entries} entries, head {verdict.last_hash}.")
    else:
        console.print(f"[red]Audit log broken at entry {verdict.first_bad_seq}: {verdict.problem}[/red]")
    if not verdict.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    org: Annotated[str | None, typer.Option("--org", help="Only this org's entries.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Export the audit log (JSON array with --json, else one JSON object per line)."""
    from aioa.identity.audit import export

    entries = export(_settings(), org_id=org)
    if as_json:
        _print_json(entries)
        return
    for entry in entries:
        typer.echo(json.dumps(entry, default=str, ensure_ascii=False))
