"""`aioa archive run [--org ORG] [--dry-run] [--json]`: move rows past each org's retention to the archive."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)

archive_app = typer.Typer(
    help="Retention and archival: calls and tool calls past an org's `retention.calls_days`, their raw rows past "
    "`retention.raw_rows_days`, move to Parquet (AIOA_ARCHIVE_URL).",
    no_args_is_help=True,
)


@archive_app.command("run")
def run_command(
    org: Annotated[str | None, typer.Option("--org", help="Only this org (default: every org with calls).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would move; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Archive rows older than each org's retention; readers keep seeing them (through the snapshot)."""
    import duckdb

    from aioa.archive.run import ArchiveError, archive_run
    from aioa.settings import get_settings

    try:
        with console.status("Archiving rows past retention…", spinner="dots"):
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
    if not report.cutoffs and not report.raw_cutoffs:
        console.print(
            "No org has a retention: set `retention: {calls_days: 730, raw_rows_days: 90}` with "
            "`aioa tenant settings set --org ORG --file F`."
        )
        return
    verb = "would move" if dry_run else "moved"
    for label, cutoffs, tables in (
        ("calls and tool calls", report.cutoffs, ("marts.fct_llm_calls", "marts.fct_tool_calls")),
        ("raw rows", report.raw_cutoffs, ("raw.llm_calls", "raw.tool_calls")),
    ):
        for org_id, before in cutoffs.items():
            counts = ", ".join(f"{table} {report.rows.get(table, {}).get(org_id, 0):,}" for table in tables)
            console.print(f"{org_id}: {label} before {before}: {counts} {verb} to the archive")
    console.print(f"Archive: {report.archive_url}")
