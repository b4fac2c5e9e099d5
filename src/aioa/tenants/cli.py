"""`aioa billing export` and `aioa tenant settings show|set`. Imports only typer at start-up (`aioa --help` stays
light); the commands import what they use. The CLI acts as the local operator, and says so in the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

billing_app = typer.Typer(help="Usage for billing, per tenant and month (CSV or JSON).", no_args_is_help=True)
tenant_app = typer.Typer(
    help="Per-tenant settings: budget, prices, attribution, retention, branding, quotas.", no_args_is_help=True
)
settings_app = typer.Typer(help="Show or change one org's settings.", no_args_is_help=True)
tenant_app.add_typer(settings_app, name="settings")

OrgOption = Annotated[str, typer.Option("--org", help="The org (tenant) id.")]
FORMATS = ("csv", "json")


def _settings():
    from aioa.settings import get_settings

    return get_settings()


def _fail(message: str, code: int = 2) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True).print(f"[red]{message}[/red]")
    return typer.Exit(code)


@billing_app.command("export")
def billing_export(
    org: OrgOption,
    month: Annotated[str, typer.Option("--month", help="Calendar month in UTC, YYYY-MM.")],
    output_format: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Calls, errors, tokens, cost, unpriced calls, active users and stored rows of one org in one month."""
    from aioa.identity import audit
    from aioa.identity.principal import local_operator
    from aioa.tenants.billing import as_csv, as_json, month_bounds, usage_export
    from aioa.warehouse.snapshots import NoSnapshotError

    if output_format not in FORMATS:
        raise _fail(f"--format must be csv or json, not {output_format!r}")
    settings = _settings()
    try:
        month_bounds(month)
        rows = usage_export(settings, org, month)
    except ValueError as error:
        raise _fail(str(error)) from None
    except NoSnapshotError as error:
        raise _fail(str(error)) from None
    text = as_csv(rows) if output_format == "csv" else as_json(rows) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
    detail = {"month": month, "format": output_format, "rows": len(rows), "file": str(out) if out else None}
    audit.record(settings, actor=local_operator(), action="billing.export", org_id=org, target=org, detail=detail)


@settings_app.command("show")
def settings_show(
    org: OrgOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """The org's effective settings (what its admin set, over the attribution YAML's and the settings' defaults)."""
    from aioa.tenants.settings_doc import tenant_settings

    document = tenant_settings(_settings(), org).model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    import yaml
    from rich.console import Console

    Console().print(f"[bold]Settings of {org}[/bold]")
    typer.echo(yaml.safe_dump(document, sort_keys=False), nl=False)


@settings_app.command("set")
def settings_set(
    org: OrgOption,
    file: Annotated[Path, typer.Option("--file", help="YAML with the sections to change (null resets a key).")],
) -> None:
    """Change the org's settings from a YAML file: its sections are merged into what is stored, validated as a
    whole, stored and audited; nothing is stored if any part is invalid."""
    import yaml

    from aioa.identity.principal import local_operator
    from aioa.tenants.settings_doc import InvalidTenantSettings, update_tenant_settings

    try:
        changes = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise _fail(f"cannot read {file}: {error}") from None
    try:
        updated = update_tenant_settings(_settings(), org, changes or {}, actor=local_operator())
    except InvalidTenantSettings as error:
        raise _fail("Settings not changed:\n  " + "\n  ".join(error.problems)) from None
    typer.echo(json.dumps(updated.model_dump(mode="json"), indent=2))
