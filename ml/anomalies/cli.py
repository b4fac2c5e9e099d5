"""`aioa anomalies`: detect anomalies on the read snapshot, store them, and score them against labels if known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def anomalies_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    grain: Annotated[
        Literal["hour", "day", "all"], typer.Option(help="Detect at hourly, daily or both grains.")
    ] = "all",
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="Labelled anomalies to score against (default: <AIOA_HOME>/sample/labels/anomalies.json if present).",
        ),
    ] = None,
) -> None:
    """Cost spikes, usage surges, error bursts, runaway agents and latency degradation, with what drove each."""
    from aioa.settings import get_settings
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.anomalies.data import AnomalyDataError
    from ml.anomalies.run import default_labels, run_detection

    settings = get_settings()
    if labels is not None and not labels.exists():
        console.print(f"[red]{labels} does not exist.[/red]")
        raise typer.Exit(2)
    grains = ("hour", "day") if grain == "all" else (grain,)
    try:
        with console.status("detecting anomalies"):
            run = run_detection(settings, grains, labels or default_labels(settings))
    except (AnomalyDataError, NoSnapshotError) as error:
        console.print(f"[yellow]No anomaly detection:[/yellow] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=2, default=str))
        return
    table = Table(title=f"{len(run.anomalies)} anomalies")
    for column in ("org", "kind", "grain", "start", "metric", "observed", "expected", "score", "drivers"):
        table.add_column(column, overflow="fold")
    for row in run.anomalies.itertuples():
        table.add_row(
            row.org_id,
            row.kind,
            row.grain,
            str(row.start),
            row.metric,
            f"{row.observed:,.2f}",
            f"{row.expected:,.2f}",
            f"{row.score:.1f}",
            row.drivers,
        )
    console.print(table)
    for note in run.notes:
        console.print(f"[dim]{note}[/dim]")
    if run.evaluation is not None:
        console.print(
            f"against the labels: precision {run.evaluation.precision:.2f}, "
            f"recall {run.evaluation.recall:.2f} ({run.evaluation.found_labels}/{run.evaluation.labels})"
        )
