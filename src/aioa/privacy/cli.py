"""`aioa privacy export|delete --user EMAIL`: a person's data as JSON, or their pseudonymisation everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

privacy_app = typer.Typer(
    help="Privacy requests: export or delete everything stored about a person.", no_args_is_help=True
)
console = Console(stderr=True)

UserOption = Annotated[str, typer.Option("--user", help="The person's email.")]
OrgOption = Annotated[str | None, typer.Option("--org", help="Only this org's data of the person.")]


@privacy_app.command("export")
def export_command(
    user: UserOption,
    org: OrgOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")] = None,
) -> None:
    """Everything stored about a person (account, keys, audit entries, warehouse rows by table) as JSON."""
    from aioa.privacy.export import export_subject
    from aioa.settings import get_settings

    try:
        document = export_subject(get_settings(), user, org=org)
    except (ValueError, NotImplementedError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    text = json.dumps(document, indent=2, default=str)
    if out is None:
        typer.echo(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)  # personal data: readable by its owner only
    out.write_text(text)
    counts = document["warehouse"]["row_counts"]
    console.print(
        f"wrote {out}: {sum(counts.values())} warehouse rows in {sum(1 for n in counts.values() if n)} tables"
    )


@privacy_app.command("delete")
def delete_command(
    user: UserOption,
    org: OrgOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Pseudonymise a person in every raw table, rebuild the marts, publish a snapshot, remove older snapshots,
    disable their account, and record the deletion in the audit log."""
    from aioa.privacy.delete import PrivacyError, delete_subject
    from aioa.settings import get_settings

    if not yes:
        console.print("[red]refusing without --yes: the deletion cannot be undone[/red]")
        raise typer.Exit(2)
    try:
        report = delete_subject(get_settings(), user, org=org)
    except (ValueError, PrivacyError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
        return
    if not report.found:
        console.print("nobody with that email in the identity store, the attribution config or the warehouse")
    changed = {name: count for name, count in report.rows.items() if count}
    console.print(f"rows pseudonymised: {changed or 'none'}; org totals unchanged")
    named = {name: count for name, count in report.mentions.items() if count}
    if named:
        console.print(f"other people's rows that named them (their tokens replaced, user ids kept): {named}")
    if report.snapshot_version:
        console.print(f"marts rebuilt, snapshot {report.snapshot_version} published")
    console.print(f"older snapshots removed: {len(report.snapshots_removed)}; identity: {report.identity or 'none'}")
    console.print(f"saved items and chat links (removed or authorship pseudonymised): {report.items or 'none'}")
    console.print(f"audit log: {'recorded' if report.audited else 'not available'}")
    if report.attribution_users:
        console.print(
            f"[yellow]still to do: remove users {report.attribution_users} from {report.attribution_file}, or the "
            "next ingest names them again[/yellow]"
        )
    if report.source_files:
        console.print(
            f"[yellow]their source logs ({len(report.source_files)} files) are outside the warehouse:[/yellow]"
        )
        for path in report.source_files[:20]:
            console.print(f"  {path}")
    if report.files_mentioning:
        console.print("[yellow]files under AIOA_HOME that still mention them (listed, not rewritten):[/yellow]")
        for path in report.files_mentioning:
            console.print(f"  {path}")
