"""`aioa recommendations`: what to change to spend less, with the estimated monthly saving and its evidence."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def recommendations_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    org: Annotated[list[str] | None, typer.Option(help="Only these orgs (repeatable).")] = None,
) -> None:
    """Recommendations (route a task type to a cheaper model, a low cache-hit project, short calls on the most
    expensive model, a runaway agent), largest monthly saving first."""
    from aioa.recommendations.engine import configured_chat_model, recommend
    from aioa.reports.output import Field, OutputFormat, emit, money
    from aioa.settings import get_settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.connection import statement_timeout
    from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

    settings = get_settings()
    scope = TenantScope.for_orgs(*org) if org else TenantScope.all_orgs()
    try:
        connection, _ = open_snapshot(settings)
    except NoSnapshotError:
        console.print("[red]No data yet.[/red] Run `aioa run` (or `make demo`) first.")
        raise typer.Exit(2) from None
    with connection, statement_timeout(connection, settings.reader_statement_timeout_s):
        items = recommend(connection, scope, chat_model=configured_chat_model(settings))
    rows = [item.to_dict() for item in items]
    fields = [
        Field("org_id", "org", align="left"),
        Field("title", "recommendation", align="left"),
        Field("subject", "about", align="left"),
        Field("monthly_saving_usd", "saving / month", money, total=True),
        Field("summary", "why", align="left"),
    ]
    emit(rows, fields, OutputFormat.json if as_json else OutputFormat.table, title="Recommendations", payload=rows)
    if not as_json and not rows:
        console.print("Nothing to recommend: no pattern with a saving of $1 a month or more.")
