"""`aioa route train | evaluate | predict`: heavy imports stay inside the commands (fast CLI start)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

route_app = typer.Typer(help="The routing engine: train, evaluate and ask it where a task should go.",
                        no_args_is_help=True)
console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
ROW_ORDER = ("router", "oracle (true probabilities)", "keyword heuristic (v1)", "random", "always cheap",
             "always strong")


def _table(evaluation) -> Table:
    table = Table(title=f"{evaluation.cheap_model} (cheap) vs {evaluation.strong_model} (strong): "
                        f"{evaluation.test_rows} held-out tasks, {evaluation.outcomes} outcomes")
    columns = ("apgr", "cpt_50", "cpt_80", "cost_saved_at_95pct_quality", "auc", "brier", "handoff_accuracy")
    table.add_column("router")
    for column in columns:
        table.add_column(column, justify="right")
    for name in ROW_ORDER:
        if name in evaluation.routers:
            result = evaluation.routers[name]
            table.add_row(name, *(f"{result[column]:.3f}" if column in result else "" for column in columns))
    return table


@route_app.command("train")
def train(as_json: JsonFlag = False, seed: Annotated[int, typer.Option(help="Split seed.")] = 42) -> None:
    """Train on the warehouse's handoffs, log to MLflow, register, and promote if it beats the champion."""
    from aioa.settings import get_settings
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.routing.data import RoutingDataError
    from ml.routing.train import train_router

    try:
        with console.status("training the router"):
            outcome, evaluation = train_router(get_settings(), seed=seed)
    except (RoutingDataError, NoSnapshotError) as error:
        console.print(f"[yellow]No router trained:[/yellow] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"run_id": outcome.run_id, "version": outcome.version, "promoted": outcome.promoted,
                               "reason": outcome.reason, "evaluation": evaluation.to_dict()}, indent=2, default=str))
        return
    console.print(_table(evaluation))
    console.print(f"MLflow run {outcome.run_id}, model version {outcome.version}: {outcome.reason}")


@route_app.command("evaluate")
def evaluate(dataset: Annotated[Path, typer.Option("--dataset", help="Routing-outcome CSV file or folder.")],
             as_json: JsonFlag = False, seed: Annotated[int, typer.Option(help="Split seed.")] = 42) -> None:
    """Fit on a seeded train split of DATASET and report every metric, and the baselines', on the held-out split."""
    from ml.routing.data import RoutingDataError
    from ml.routing.train import evaluate_dataset

    if not dataset.exists():
        console.print(f"[red]{dataset} does not exist.[/red]")
        raise typer.Exit(2)
    try:
        with console.status(f"evaluating on {dataset}"):
            evaluation = evaluate_dataset(dataset, seed)
    except RoutingDataError as error:
        console.print(f"[yellow]Cannot evaluate:[/yellow] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(evaluation.to_dict(), indent=2, default=str))
    else:
        console.print(_table(evaluation))


@route_app.command("predict")
def predict(task: Annotated[str, typer.Argument(help="The task text.")], as_json: JsonFlag = False,
            task_type: Annotated[str, typer.Option(help="Kind of task.")] = "unknown") -> None:
    """Route one task with the champion: target, confidence, expected cost and latency."""
    from ml.routing.predict import RouterUnavailable, route

    try:
        decision = route({"task_text": task, "task_type": task_type})
    except RouterUnavailable as error:
        console.print(f"[yellow]{error}[/yellow]")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(decision.__dict__, indent=2))
    else:
        console.print(f"{decision.route} → [bold]{decision.target}[/bold] (P(cheap succeeds) "
                      f"{decision.confidence:.1%}, expected ${decision.expected_cost_usd:.4f}, "
                      f"{decision.expected_latency_ms / 1000:.1f} s)")
