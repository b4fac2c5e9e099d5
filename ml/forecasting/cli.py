"""`aioa forecast`: fit, backtest and project spend; heavy imports (Prophet, MLflow) stay inside the command."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _percent(value) -> str:
    return "" if value is None or value != value else f"{value:.0%}"


def _backtest_table(backtests) -> Table:
    table = Table(title="Rolling-origin backtests per series (MASE < 1: better than last week in training; * ships)")
    for column in ("series", "metric", "model", "MASE", "WAPE", "80% cover", "month total"):
        table.add_column(column, justify="left" if column in ("series", "metric", "model") else "right")
    for row in backtests.itertuples():
        table.add_row(
            f"{row.org_id}/{row.project_id or '(org)'}",
            row.metric,
            f"{row.forecaster}{' *' if row.shipped else ''}",
            "" if row.mase is None or row.mase != row.mase else f"{row.mase:.3f}",
            _percent(row.wape),
            _percent(row.coverage_80),
            _percent(row.month_total_error),
        )
    return table


def _projection_table(projections) -> Table:
    table = Table(title="Month-end spend projection")
    for column in ("org", "month to date", "projected", "p10–p90", "budget", "P(exceed)"):
        table.add_column(column, justify="left" if column == "org" else "right")
    for row in projections.itertuples():
        table.add_row(
            row.org_id,
            f"${row.month_to_date_usd:,.2f}",
            f"${row.projected_month_end_usd:,.2f}",
            f"${row.p10_usd:,.2f}–${row.p90_usd:,.2f}",
            "none" if row.budget_usd is None or row.budget_usd != row.budget_usd else f"${row.budget_usd:,.0f}",
            "n/a"
            if row.prob_exceed_budget is None or row.prob_exceed_budget != row.prob_exceed_budget
            else f"{row.prob_exceed_budget:.0%}",
        )
    return table


def _what_if(result, settings, mix: str | None, threshold: float | None) -> list[dict]:
    from ml.forecasting.whatif import (
        apply_ratio,
        champion_router,
        mix_cost_ratio,
        org_cost_forecast_totals,
        parse_mix,
        routing_cost_ratio,
    )

    if not result.shipped or (mix is None and threshold is None):
        return []
    totals = org_cost_forecast_totals(result.forecasts)
    outcomes = []
    if mix is not None:
        source, target, share = parse_mix(mix)
        frame = apply_ratio(result.projections, totals, mix_cost_ratio(result.usage, source, target, share))
        outcomes.append(
            {
                "kind": "model_mix",
                "change": f"{share:.0%} of {source} tokens to {target}",
                "orgs": frame.to_dict("records"),
            }
        )
    if threshold is not None:
        evaluation, scores = champion_router(settings)
        ratios = routing_cost_ratio(result.usage, evaluation, scores, threshold)
        frame = apply_ratio(result.projections, totals, ratios)
        outcomes.append(
            {
                "kind": "routing_threshold",
                "change": f"router threshold {threshold:g} (champion: {evaluation['threshold']:.3f})",
                "orgs": frame.to_dict("records"),
                "quality_what_if": float(ratios["quality_what_if"].iloc[0]) if len(ratios) else None,
            }
        )
    return outcomes


def forecast_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    horizon: Annotated[int, typer.Option(help="Days to forecast.", min=1, max=365)] = 30,
    org: Annotated[str | None, typer.Option(help="Only this org (its stored rows are replaced, others kept).")] = None,
    what_if_mix: Annotated[
        str | None,
        typer.Option("--what-if-mix", help="Move a share of one model's tokens to another: SOURCE=TARGET:SHARE."),
    ] = None,
    what_if_threshold: Annotated[
        float | None,
        typer.Option("--what-if-threshold", help="Projected cost if the champion router used this threshold."),
    ] = None,
) -> None:
    """Daily tokens and cost per org and project: Prophet and three baselines backtested on every series, each
    series ships the one with the lowest MASE; month-end spend against budget; stored in ml.* and logged to MLflow."""
    from aioa.settings import get_settings
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.forecasting.data import ForecastDataError
    from ml.forecasting.whatif import WhatIfError

    settings = get_settings()
    try:
        with console.status("loading Prophet") as status:
            from ml.forecasting.run import ForecastOptions, run_forecasts

            result = run_forecasts(
                settings, ForecastOptions(horizon=horizon, org=org), progress=lambda message: status.update(message)
            )
    except (ForecastDataError, NoSnapshotError) as error:
        console.print(f"[yellow]No forecast:[/yellow] {error}")
        raise typer.Exit(2) from None
    try:
        what_if = _what_if(result, settings, what_if_mix, what_if_threshold)
    except WhatIfError as error:
        console.print(f"[yellow]No what-if:[/yellow] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict() | {"what_if": what_if}, indent=2, default=str))
    else:
        console.print(_backtest_table(result.backtests))
        if result.shipped:
            console.print(_projection_table(result.projections))
        for item in what_if:
            console.print(f"What-if ({item['change']}):")
            for row in item["orgs"]:
                console.print(
                    f"  {row['org_id']}: next {horizon} days ${row['forecast_usd']:,.2f} → "
                    f"${row['what_if_forecast_usd']:,.2f}; month end ${row['what_if_month_end_usd']:,.2f}"
                )
        for item in result.skipped:
            console.print(
                f"[dim]skipped {item['org_id']}/{item['project_id'] or '(org)'} {item['metric']} "
                f"({item['stage']}): {item['reason']}[/dim]"
            )
        console.print(f"{result.verdict.reason}. MLflow run {result.run_id}, snapshot {result.snapshot_version}.")
    if not result.shipped:
        raise typer.Exit(1)
