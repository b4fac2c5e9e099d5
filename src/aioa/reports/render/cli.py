"""`aioa report render TEMPLATE --format pdf --out FILE`: a report template rendered to a file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aioa.reports.render.names import ReportFormat

console = Console(stderr=True)
Many = Annotated[list[str] | None, typer.Option(help="Only these (repeatable).")]


def render_command(
    template: Annotated[
        str,
        typer.Argument(help="executive-monthly, team-weekly, project, budget, routing-savings, or a saved template."),
    ],
    output_format: Annotated[ReportFormat, typer.Option("--format", help="The file's format.")] = ReportFormat.pdf,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: a name from the period).")] = None,
    org: Many = None,
    team: Many = None,
    project: Many = None,
    model: Many = None,
    month: Annotated[
        str | None, typer.Option(help="A calendar month, YYYY-MM (default: the template's period).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), with --until.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), with --since.")] = None,
) -> None:
    """Render a report template (sections of registry metrics over the filters) to PDF, HTML, Excel, CSV (zip),
    JSON or Parquet (zip)."""
    from aioa.analytics import Filters
    from aioa.reports.render.build import build_report
    from aioa.reports.render.formats import file_name, render
    from aioa.reports.render.store import find_template
    from aioa.settings import get_settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.connection import statement_timeout
    from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

    settings = get_settings()
    try:
        chosen = find_template(
            settings,
            template,
            org[0] if org and len(org) == 1 else None,
            team_id=team[0] if team and len(team) == 1 else None,
        )
    except KeyError as error:
        console.print(f"[red]{error.args[0]}[/red] (a saved template needs --org, and --team for a team's own)")
        raise typer.Exit(2) from None
    if month is not None and not _is_month(month):
        raise typer.BadParameter(f"{month!r} is not a month like 2026-11", param_hint="--month")
    if (since is None) != (until is None):
        raise typer.BadParameter("give both --since and --until, or neither", param_hint="--since/--until")
    filters = Filters(
        _day(since), _day(until), tuple(org or ()), tuple(team or ()), tuple(project or ()), tuple(model or ())
    )
    try:
        connection, version = open_snapshot(settings)
    except NoSnapshotError:
        console.print("[red]No data yet.[/red] Run `aioa run` (or `make demo`) first.")
        raise typer.Exit(2) from None
    scope = TenantScope.for_orgs(*org) if org else TenantScope.all_orgs()
    with console.status(f"Rendering {chosen.name} as {output_format.value}…"):
        with connection, statement_timeout(connection, settings.reader_statement_timeout_s):
            report = build_report(connection, scope, chosen, filters=filters, month=month, snapshot=version)
        content = render(report, output_format)
    target = out or Path(file_name(report, output_format))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    console.print(f"Wrote {target} ({len(content):,} bytes; {report.start} to {report.end}).")


def _is_month(value: str) -> bool:
    try:
        date.fromisoformat(value + "-01")
    except ValueError:
        return False
    return len(value) == 7


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-24") from error


def templates_command(
    org: Annotated[str | None, typer.Option(help="Also the templates this org saved.")] = None,
    team: Annotated[str | None, typer.Option(help="And this team's own (with --org).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """The report templates: the built-in ones and those saved for an org (and team), with their sections."""
    from aioa.reports.output import Field, OutputFormat, emit
    from aioa.reports.render.store import saved_templates
    from aioa.reports.render.templates import BUILTIN
    from aioa.settings import get_settings

    saved = saved_templates(get_settings(), org, team_id=team) if org else []
    rows = [
        {
            "name": template.name,
            "title": template.title,
            "period": template.period,
            "saved": template.name not in BUILTIN,
            "sections": [section.heading for section in template.sections],
        }
        for template in [*BUILTIN.values(), *saved]
    ]
    fields = [
        Field("name", "name", align="left"),
        Field("title", "title", align="left"),
        Field("period", "period", align="left"),
        Field("saved", "saved", lambda value: "yes" if value else "built-in", align="left"),
        Field("sections", "sections", lambda value: "; ".join(value), align="left"),
    ]
    emit(rows, fields, OutputFormat.json if as_json else OutputFormat.table, title="Report templates", totals=False)
