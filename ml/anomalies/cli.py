"""`aioa anomalies`: the anomalies stored in the published snapshot (the same list on every call), scored against
labels if known; `--refit` detects them again on the snapshot, stores them and logs the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from aioa.formatting import day, format_value
from aioa.reports.output import print_rich_table

console = Console(stderr=True)  # messages; the table goes to stdout


def stored_run(settings, grains: tuple[str, ...], labels: Path | None):
    """The stored anomalies of the published snapshot at these grains (None when detection has not run)."""
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import scoped_ml_table
    from aioa.warehouse.snapshots import open_snapshot
    from ml.anomalies.detect import COLUMNS
    from ml.anomalies.evaluate import load_labels, score
    from ml.anomalies.run import AnomalyRun

    connection, version = open_snapshot(settings)
    with connection:
        stored = scoped_ml_table(connection, "anomalies", TenantScope.all_orgs())
    if stored is None:
        return None
    anomalies = stored[stored["grain"].isin(grains)][COLUMNS].reset_index(drop=True)
    anomalies = anomalies.sort_values(["start", "org_id", "grain"], ignore_index=True)
    evaluation = score(anomalies, load_labels(labels)) if labels is not None else None
    return AnomalyRun(
        anomalies, evaluation, [f"stored results of snapshot {version}; `--refit` detects again"], version
    )


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
    refit: Annotated[
        bool, typer.Option("--refit", help="Detect again on the snapshot, store the result and log an MLflow run.")
    ] = False,
) -> None:
    """Cost spikes, usage surges, error bursts, runaway agents and latency degradation, with what drove each: the
    stored results by default, detected again with `--refit`."""
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
        if refit:
            with console.status("detecting anomalies"):
                run = run_detection(settings, grains, labels or default_labels(settings))
        else:
            run = stored_run(settings, grains, labels or default_labels(settings))
            if run is None:
                console.print(
                    "[yellow]No anomaly detection:[/yellow] no anomalies have been stored yet. Run "
                    "`aioa anomalies --refit` (or `aioa run`, which detects them as part of the pipeline)."
                )
                raise typer.Exit(2)
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
            day(row.start),
            row.metric,
            format_value(row.metric, row.observed),
            format_value(row.metric, row.expected),
            f"{row.score:.1f}",
            row.drivers,
        )
    print_rich_table(table)
    for note in run.notes:
        console.print(f"[dim]{note}[/dim]")
    if run.evaluation is not None:
        console.print(
            f"against the labels: precision {run.evaluation.precision:.2f}, "
            f"recall {run.evaluation.recall:.2f} ({run.evaluation.found_labels}/{run.evaluation.labels})"
        )
