"""`aioa annotate …`: the operator's annotations of one org (`--org`, default AIOA_DEFAULT_ORG): add a comment on a
day, a metric or an incident, and list them. Only typer and rich load with the CLI; the store loads in a command."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aioa.reports.output import print_rich_table

annotate_app = typer.Typer(help="Team annotations on days, metrics and incidents (shown on the app's charts).")
console = Console(stderr=True)
OrgOption = Annotated[str | None, typer.Option("--org", help="The org (tenant); default AIOA_DEFAULT_ORG.")]


@annotate_app.command("add")
def annotate_add(
    text: Annotated[str, typer.Argument(help="The comment.")],
    day: Annotated[str | None, typer.Option(help="The day it is about (YYYY-MM-DD).")] = None,
    metric: Annotated[str | None, typer.Option(help="A registry metric it is about (e.g. spend).")] = None,
    incident: Annotated[str | None, typer.Option(help="An incident id it is about.")] = None,
    org: OrgOption = None,
) -> None:
    """Add an annotation for the whole org."""
    from aioa.collab.store import add_annotation
    from aioa.identity.principal import local_operator
    from aioa.settings import get_settings

    settings = get_settings()
    try:
        when = date.fromisoformat(day) if day else None
        note = add_annotation(
            settings,
            local_operator(),
            body=text,
            day=when,
            metric=metric,
            incident_id=incident,
            org_id=org or settings.default_org,
        )
    except (ValueError, LookupError) as error:
        console.print(f"[red]{error}[/red] (--day takes YYYY-MM-DD)")
        raise typer.Exit(2) from None
    console.print(f"Annotation {note.id} on the {note.target} saved.")


@annotate_app.command("list")
def annotate_list(
    start: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Up to this day (YYYY-MM-DD).")] = None,
    incident: Annotated[str | None, typer.Option(help="Only this incident's comments.")] = None,
    org: OrgOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """The org's annotations, oldest first."""
    from aioa.collab.store import annotations
    from aioa.identity.principal import local_operator
    from aioa.settings import get_settings

    settings = get_settings()
    notes = annotations(
        settings,
        local_operator(),
        start=date.fromisoformat(start) if start else None,
        end=date.fromisoformat(end) if end else None,
        incident_id=incident,
        org_id=org or settings.default_org,
    )
    if as_json:
        typer.echo(json.dumps([note.to_dict() for note in notes], indent=2))
        return
    table = Table("id", "on", "day", "metric", "author", "comment")
    for note in notes:
        table.add_row(
            str(note.id),
            note.target,
            str(note.day or ""),
            note.metric or note.incident_id or "",
            note.author,
            note.body,
        )
    print_rich_table(table)
