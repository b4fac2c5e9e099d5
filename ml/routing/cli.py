"""`aioa route train | evaluate | predict | performance | offline-eval | experiment-report`: heavy imports stay inside the
commands (fast CLI start)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aioa.reports.output import print_rich_table

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
    from ml.routing.performance import train_performance
    from ml.routing.train import train_router

    settings = get_settings()
    try:
        with console.status("training the router"):
            outcome, evaluation = train_router(settings, seed=seed)
        with console.status("training the performance predictor"):
            predictor = train_performance(settings, seed=seed)
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
                    "performance": predictor.evaluation,
                },
                indent=2,
                default=str,
            )
        )
        return
    print_rich_table(_table(evaluation))
    console.print(f"MLflow run {outcome.run_id}, model version {outcome.version}: {outcome.reason}")
    for table in performance_tables(predictor.evaluation):
        print_rich_table(table)


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
        print_rich_table(_table(evaluation))


@route_app.command("predict")
def predict(
    task: Annotated[str, typer.Argument(help="The task text.")],
    as_json: JsonFlag = False,
    task_type: Annotated[
        str | None, typer.Option(help="Kind of task; one the models were trained on (omit when unknown).")
    ] = None,
    project: Annotated[str | None, typer.Option(help="Project the task is for (a router feature).")] = None,
    input_tokens: Annotated[
        int | None, typer.Option(min=0, help="Expected input tokens (a router feature; omitted: 0).")
    ] = None,
) -> None:
    """Route one task with the stored champion: target, P(success) per model, and the task's cost and latency
    with 80% intervals (the stored performance predictor; nothing is trained on call). With AIOA_API_TOKEN set it
    asks the running API (`aioa serve`, AIOA_API_URL), whose models are already loaded. The router reads the
    project and the input tokens too: the same task routed by `route()` or `POST /v1/route` with them is the same
    task here only with --project and --input-tokens."""
    from aioa.settings import get_settings

    settings = get_settings()
    task_fields = {"task_text": task, "task_type": task_type, "project_id": project, "input_tokens": input_tokens}
    task_fields = {key: value for key, value in task_fields.items() if value is not None}
    if settings.api_token is not None:
        from ml.routing.remote import RemoteRouteError, predict_remote

        try:
            decision = predict_remote(settings, task_fields)
        except RemoteRouteError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
        _print_decision(decision, as_json)
        return
    from ml.routing.predict import RouterUnavailable, performance_predictor, route

    predictor = performance_predictor(settings)
    if task_type is not None and predictor is not None and task_type not in predictor.task_types:
        console.print(
            f"[red]Unknown task type {task_type!r}.[/red] Known task types: {', '.join(predictor.task_types)} "
            "(or omit --task-type)."
        )
        raise typer.Exit(2)
    try:
        decision = route(task_fields, settings)
    except RouterUnavailable as error:
        console.print(f"[yellow]{error}[/yellow]")
        raise typer.Exit(2) from None
    if predictor is None:
        console.print(
            "[yellow]No performance predictor yet: cost and latency are the route's mean (run `aioa route train`; "
            "the task type was not checked).[/yellow]"
        )
    _print_decision(decision.__dict__, as_json)


def _print_decision(decision: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_finite_json(decision), indent=2))
        return
    from types import SimpleNamespace

    from aioa.reports.output import stdout_console

    decision = SimpleNamespace(**decision)

    out = stdout_console()  # the answer on stdout, messages on stderr
    out.print(
        f"{decision.route} → [bold]{decision.target}[/bold] (router: P(cheap succeeds) {decision.confidence:.1%}, "
        f"P(strong succeeds) {decision.p_strong:.1%})"
    )
    table = Table(title=f"Predicted for this task ({decision.estimate_source.replace('_', ' ')})")
    for column in ("model", "P(success)", "cost (80% interval)", "latency (80% interval)"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in decision.predictions:
        table.add_row(
            row["model"] + (" ←" if row["model"] == decision.target else ""),
            f"{row['p_success']:.1%}",
            f"${row['cost_usd']:.4f} (${row['cost_usd_low']:.4f}–${row['cost_usd_high']:.4f})",
            f"{row['latency_ms'] / 1000:.1f} s ({row['latency_ms_low'] / 1000:.1f}–{row['latency_ms_high'] / 1000:.1f} s)",
        )
    if not decision.predictions:
        table.add_row(
            decision.target, "", f"${decision.expected_cost_usd:.4f}", f"{decision.expected_latency_ms / 1000:.1f} s"
        )
    out.print(table)


def _finite_json(values: dict) -> dict:
    """NaN is not JSON: missing estimates become null."""
    return {key: None if isinstance(value, float) and value != value else value for key, value in values.items()}


@route_app.command("performance")
def performance(
    as_json: JsonFlag = False,
    refit: Annotated[bool, typer.Option("--refit", help="Retrain on the snapshot's handoffs and store.")] = False,
) -> None:
    """The performance predictor's held-out quality: Brier score against the base rate, reliability curve, and the
    80% interval coverage of cost and latency beside a per-model constant interval. Stored results by default."""
    from aioa.settings import get_settings
    from ml.routing.predict import performance_predictor

    settings = get_settings()
    if refit:
        from aioa.warehouse.snapshots import NoSnapshotError
        from ml.routing.data import RoutingDataError
        from ml.routing.performance import train_performance

        try:
            with console.status("training the performance predictor"):
                predictor = train_performance(settings)
        except (RoutingDataError, NoSnapshotError) as error:
            console.print(f"[yellow]No performance predictor trained:[/yellow] {error}")
            raise typer.Exit(2) from None
    else:
        predictor = performance_predictor(settings)
        if predictor is None:
            console.print("[yellow]No performance predictor yet:[/yellow] run `aioa route performance --refit`.")
            raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(predictor.evaluation, indent=2, default=str))
        return
    from aioa.reports.output import stdout_console

    for table in performance_tables(predictor.evaluation):
        stdout_console().print(table)


def performance_tables(evaluation: dict) -> list[Table]:
    """Rich tables of `performance.measure()`'s result (the CLI and the benchmark print the same)."""
    success = Table(
        title=f"P(success) on {evaluation['test_tasks']} held-out tasks (trained on {evaluation['train_tasks']})"
    )
    for column in ("model", "n", "success rate", "Brier", "Brier base rate", "skill", "AUC", "reliability"):
        success.add_column(column, justify="left" if column in ("model", "reliability") else "right")
    for row in evaluation["success"]:
        curve = row["reliability"]
        success.add_row(
            row["model"],
            str(row["n"]),
            f"{row['success_rate']:.3f}",
            f"{row['brier']:.4f}",
            f"{row['brier_base_rate']:.4f}",
            f"{row['brier_skill']:.3f}" if row["brier_skill"] is not None else "",
            f"{row['auc']:.3f}" if row["auc"] is not None else "",
            " ".join(f"{p:.2f}→{o:.2f}" for p, o in zip(curve["predicted"], curve["observed"], strict=True)),
        )
    intervals = Table(title="80% intervals on held-out tasks: per-task model vs per-model constant")
    for column in (
        "target",
        "model",
        "n",
        "coverage",
        "width ×",
        "|log error|",
        "const coverage",
        "const width ×",
        "const |log error|",
    ):
        intervals.add_column(column, justify="left" if column in ("target", "model") else "right")
    for row in evaluation["intervals"]:
        intervals.add_row(
            row["target"],
            row["model"],
            str(row["n"]),
            f"{row['coverage']:.3f}",
            f"{row['width_ratio']:.2f}",
            f"{row['median_abs_log_error']:.3f}",
            f"{row['baseline_coverage']:.3f}",
            f"{row['baseline_width_ratio']:.2f}",
            f"{row['baseline_median_abs_log_error']:.3f}",
        )
    return [success, intervals]


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
    print_rich_table(table)


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
    print_rich_table(table)
