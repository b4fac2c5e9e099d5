"""`aioa route train | evaluate | predict | offline-eval | experiment-report`: heavy imports stay inside the
commands (fast CLI start)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

route_app = typer.Typer(
    help="The routing engine: train, evaluate and ask it where a task should go.", no_args_is_help=True
)
console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
ROW_ORDER = ("router", "oracle", "bayes_text", "keyword_heuristic_v1", "random", "always_cheap", "always_strong")


def _table(evaluation) -> Table:
    split = {"group": "whole task types held out", "template": "whole templates held out"}.get(
        evaluation.split, "split by task"
    )
    table = Table(
        title=f"{evaluation.cheap_model} (cheap) vs {evaluation.strong_model} (strong): "
        f"{evaluation.test_rows} held-out tasks ({split}), {evaluation.outcomes} outcomes",
        caption=f"threshold {evaluation.threshold:.3f} ({evaluation.threshold_source})" + _optimal_caption(evaluation),
    )
    columns = ("apgr", "cpt_50", "cpt_80", "cost_saved_at_95pct_quality", "auc", "brier", "handoff_accuracy")
    table.add_column("router")
    table.add_column("apgr (95% CI)", justify="right")
    for column in columns[1:]:
        table.add_column(column, justify="right")
    for name in ROW_ORDER:
        if name in evaluation.routers:
            result = evaluation.routers[name]
            apgr = f"{result['apgr']:.3f}" if "apgr" in result else ""
            if "apgr_low" in result:
                apgr += f" ({result['apgr_low']:.3f}–{result['apgr_high']:.3f})"
            table.add_row(
                result.get("label", name),
                apgr,
                *(f"{result[column]:.3f}" if column in result else "" for column in columns[1:]),
            )
    return table


def _optimal_caption(evaluation) -> str:
    router = evaluation.routers.get("router", {})
    shares = [
        f"{router[key]:.0%} of the {label}'s"
        for key, label in (
            ("savings_share_of_bayes_text", "Bayes-optimal router from the text"),
            ("savings_share_of_oracle", "oracle"),
        )
        if key in router
    ]
    if not shares:
        return ""
    return "\nrouter's cost saved at 95% of strong quality: " + ", ".join(shares) + " (target ≥ 90%)"


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
        typer.echo(
            json.dumps(
                {
                    "run_id": outcome.run_id,
                    "version": outcome.version,
                    "promoted": outcome.promoted,
                    "reason": outcome.reason,
                    "evaluation": evaluation.to_dict(),
                },
                indent=2,
                default=str,
            )
        )
        return
    console.print(_table(evaluation))
    console.print(f"MLflow run {outcome.run_id}, model version {outcome.version}: {outcome.reason}")


@route_app.command("evaluate")
def evaluate(
    dataset: Annotated[
        Path, typer.Option("--dataset", help="Routing-outcome CSV file or folder, or a generated sample folder.")
    ],
    as_json: JsonFlag = False,
    seed: Annotated[int, typer.Option(help="Split seed.")] = 42,
    split: Annotated[
        str | None,
        typer.Option(
            help="task: split by task; group: hold out whole task types (e.g. MMLU subjects); template: hold out "
            "whole templates (generated samples). Default: template for a generated sample, else task."
        ),
    ] = None,
) -> None:
    """Fit on a seeded train split of DATASET and report every metric, and the baselines', on the held-out split."""
    from ml.routing.data import RoutingDataError
    from ml.routing.train import evaluate_dataset

    if not dataset.exists():
        console.print(f"[red]{dataset} does not exist.[/red]")
        raise typer.Exit(2)
    if split not in (None, "task", "group", "template"):
        console.print(f"[red]--split must be task, group or template, not {split}.[/red]")
        raise typer.Exit(2)
    try:
        with console.status(f"evaluating on {dataset}"):
            evaluation = evaluate_dataset(dataset, seed, split)
    except RoutingDataError as error:
        console.print(f"[yellow]Cannot evaluate:[/yellow] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(evaluation.to_dict(), indent=2, default=str))
    else:
        console.print(_table(evaluation))


@route_app.command("predict")
def predict(
    task: Annotated[str, typer.Argument(help="The task text.")],
    as_json: JsonFlag = False,
    task_type: Annotated[str, typer.Option(help="Kind of task.")] = "unknown",
) -> None:
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
        console.print(
            f"{decision.route} → [bold]{decision.target}[/bold] (P(cheap succeeds) "
            f"{decision.confidence:.1%}, expected ${decision.expected_cost_usd:.4f}, "
            f"{decision.expected_latency_ms / 1000:.1f} s)"
        )


@route_app.command("offline-eval")
def offline_eval(as_json: JsonFlag = False) -> None:
    """Estimate the champion's success rate and cost per task from logged decisions (IPS, SNIPS, doubly robust),
    beside the logging policy's observed values."""
    from aioa.settings import get_settings
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.routing.feedback import FeedbackDataError, offline_evaluation
    from ml.routing.predict import RouterUnavailable

    try:
        with console.status("estimating from logged feedback"):
            result = offline_evaluation(get_settings())
    except (FeedbackDataError, RouterUnavailable, NoSnapshotError) as error:
        console.print(f"[yellow]No off-policy estimate:[/yellow] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(
        title=f"Champion v{result['router_version']} estimated from {result['decisions']} logged decisions "
        f"({result['source']}); it agrees with {result['agreement_with_logged']:.0%} of them"
    )
    for column in ("estimator", "success rate", "95% CI", "cost per task (USD)", "95% CI "):
        table.add_column(column, justify="left" if column == "estimator" else "right")
    for name in ("logging_policy", "ips", "snips", "dr"):
        success, cost = result["success"][name], result["cost_usd"][name]
        table.add_row(
            name.replace("_", " "),
            f"{success['value']:.3f}",
            f"{success['low']:.3f}–{success['high']:.3f}",
            f"{cost['value']:.5f}",
            f"{cost['low']:.5f}–{cost['high']:.5f}",
        )
    console.print(table)


@route_app.command("experiment-report")
def experiment_report(
    control: Annotated[str, typer.Option(help="Control arm (router version).")],
    experiment: Annotated[str | None, typer.Option(help="Only decisions of this experiment.")] = None,
    store: Annotated[bool, typer.Option(help="Store the report as ml.router_experiments.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Lift of success rate and cost per task of each router version over the control, per org, with 95% CIs, from
    the decisions log joined to the handoff outcomes."""
    from aioa.settings import get_settings
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.routing.decisions import decisions_with_outcomes
    from ml.routing.experiments import ExperimentDataError
    from ml.routing.experiments import experiment_report as report_frame

    settings = get_settings()
    try:
        frame = decisions_with_outcomes(settings)
        if experiment is not None:
            frame = frame[frame["experiment"] == experiment]
        report = report_frame(frame, control=control)
    except (ExperimentDataError, NoSnapshotError) as error:
        console.print(f"[yellow]No experiment report:[/yellow] {error}")
        raise typer.Exit(2) from None
    if store:
        from aioa.warehouse.ml_tables import write_ml_tables

        write_ml_tables(settings, {"router_experiments": report.assign(experiment=experiment)})
    if as_json:
        typer.echo(report.to_json(orient="records", indent=2))
        return
    table = Table(title=f"Lift over router v{control}" + (f" in {experiment}" if experiment else ""))
    for column in (
        "org_id",
        "treatment",
        "metric",
        "control_mean",
        "treatment_mean",
        "difference",
        "low",
        "high",
        "p_value",
        "n_control",
        "n_treatment",
    ):
        table.add_column(column, justify="left" if column in ("org_id", "treatment", "metric") else "right")
    for row in report.to_dict("records"):
        if row.get("note"):
            table.add_row(str(row["org_id"]), row["treatment"], row["metric"], row["note"])
            continue
        table.add_row(
            str(row["org_id"]),
            row["treatment"],
            row["metric"],
            *(f"{row[key]:.4g}" for key in ("control_mean", "treatment_mean", "difference", "low", "high", "p_value")),
            str(row["n_control"]),
            str(row["n_treatment"]),
        )
    console.print(table)
