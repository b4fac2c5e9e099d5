"""`aioa archive run [--org ORG] [--dry-run] [--json]`: move calls past each org's retention to the archive."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)

archive_app = typer.Typer(
    help="Retention and archival: calls past an org's `retention.calls_days` move to Parquet (AIOA_ARCHIVE_URL).",
    no_args_is_help=True,
)


@archive_app.command("run")
def run_command(
    org: Annotated[str | None, typer.Option("--org", help="Only this org (default: every org with calls).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would move; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Archive calls older than each org's retention; readers keep seeing them (through the snapshot)."""
    import duckdb

    from aioa.archive.run import ArchiveError, archive_run
    from aioa.settings import get_settings

    try:
        with console.status("Archiving calls past retention…", spinner="dots"):
            report = archive_run(get_settings(), org=org, dry_run=dry_run)
    except ArchiveError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    except duckdb.IOException as error:
        console.print(f"[red]The warehouse is busy ({error}); run again when the pipeline run has finished.[/red]")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    if not report.cutoffs:
        console.print(
            "No org has a calls retention: set `retention: {calls_days: 730}` with `aioa tenant settings set --org ORG --file F`."
        )
        return
    verb = "would move" if dry_run else "moved"
    for org_id, before in report.cutoffs.items():
        console.print(f"{org_id}: calls before {before}: {report.calls.get(org_id, 0):,} {verb} to the archive")
    console.print(f"Archive: {report.archive_url}")
