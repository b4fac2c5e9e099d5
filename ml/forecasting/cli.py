"""`aioa forecast`: the stored forecasts, backtests and month-end projections of the published snapshot (the same
numbers on every call); `--refit` fits, backtests and projects again, stores and logs the run. Heavy imports
(Prophet, MLflow) stay inside the command."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aioa.formatting import money
from aioa.reports.output import print_rich_table, stdout_console

console = Console(stderr=True)  # messages; the tables go to stdout


def _series_label(row) -> str:
    """org/project, or org/(org) for an org-level series. A project id is text; anything else is "no project" (tables
    stored before null columns were kept as text hold pandas' `pd.NA` there, which cannot be used as a boolean)."""
    return f"{row.org_id}/{row.project_id if isinstance(row.project_id, str) else '(org)'}"


def _percent(value) -> str:
    return "" if value is None or value != value else f"{value:.0%}"


def _backtest_table(backtests) -> Table:
    table = Table(title="Rolling-origin backtests per series (MASE < 1: better than last week in training; * ships)")
    for column in ("series", "metric", "model", "MASE", "WAPE", "80% cover", "month total"):
        table.add_column(column, justify="left" if column in ("series", "metric", "model") else "right")
    for row in backtests.itertuples():
        table.add_row(
            _series_label(row),
            row.metric,
            f"{row.forecaster}{' *' if row.shipped else ''}",
            "" if row.mase is None or row.mase != row.mase else f"{row.mase:.3f}",
            _percent(row.wape),
            _percent(row.coverage_80),
            _percent(row.month_total_error),
        )
    return table


def org_models(backtests) -> dict[str, dict]:
    """Per org: the model its month-end projection comes from (the org-level cost series' shipped model) and
    whether Prophet lost to that baseline."""
    if backtests is None or backtests.empty:
        return {}
    rows = backtests[backtests["project_id"].isna() & (backtests["metric"] == "cost_usd")]
    models = {}
    for org_id, group in rows.groupby("org_id"):
        shipped = group[group["shipped"].astype(bool)]
        name = str(shipped["forecaster"].iloc[0]) if len(shipped) else None
        models[org_id] = {"model": name, "prophet_lost": name is not None and name not in ("prophet", "combination")}
    return models


def _projection_table(projections, backtests) -> Table:
    from ml.forecasting.baselines import LABELS

    models = org_models(backtests)
    table = Table(title="Month-end spend projection (USD)")
    for column in ("org", "month to date", "projected", "p10–p90", "budget", "P(exceed)", "from"):
        table.add_column(column, justify="left" if column in ("org", "from") else "right")
    for row in projections.itertuples():
        model = models.get(row.org_id, {})
        name = model.get("model")
        source = (
            f"{LABELS.get(name, name)} (Prophet lost to this baseline: a baseline's projection, not Prophet's)"
            if model.get("prophet_lost")
            else LABELS.get(name, name or "?")
        )
        table.add_row(
            row.org_id,
            money(row.month_to_date_usd),
            money(row.projected_month_end_usd),
            f"{money(row.p10_usd)}–{money(row.p90_usd)}",
            "none" if row.budget_usd is None or row.budget_usd != row.budget_usd else money(row.budget_usd, 0),
            "n/a"
            if row.prob_exceed_budget is None or row.prob_exceed_budget != row.prob_exceed_budget
            else f"{row.prob_exceed_budget:.0%}",
            source,
        )
    return table


def stored_run(settings, org: str | None):
    """The forecast run stored in the published snapshot (None when no forecast run has been stored)."""
    import pandas as pd

    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import scoped_ml_table
    from aioa.warehouse.snapshots import open_snapshot
    from ml.forecasting.data import load_recent_model_usage
    from ml.forecasting.run import ForecastRun, quality_verdict

    scope = TenantScope.for_orgs(org) if org else TenantScope.all_orgs()
    connection, version = open_snapshot(settings)
    with connection:
        tables = {
            name: scoped_ml_table(connection, name, scope)
            for name in ("forecasts", "forecast_backtests", "budget_projections")
        }
        usage = load_recent_model_usage(connection)
    backtests = tables["forecast_backtests"]
    if backtests is None:
        return None
    empty = pd.DataFrame()
    forecasts = tables["forecasts"] if tables["forecasts"] is not None else empty
    projections = tables["budget_projections"] if tables["budget_projections"] is not None else empty
    if org:
        usage = usage[usage["org_id"] == org]
    return ForecastRun(
        forecasts,
        backtests,
        projections,
        usage,
        [],
        quality_verdict(backtests),
        snapshot_version=version,
    )


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
    org: Annotated[
        str | None, typer.Option(help="Only this org (with --refit: its stored rows are replaced, others kept).")
    ] = None,
    refit: Annotated[
        bool,
        typer.Option("--refit", help="Fit, backtest and project again, store the result and log an MLflow run (slow)."),
    ] = False,
    what_if_mix: Annotated[
        str | None,
        typer.Option("--what-if-mix", help="Move a share of one model's tokens to another: SOURCE=TARGET:SHARE."),
    ] = None,
    what_if_threshold: Annotated[
        float | None,
        typer.Option("--what-if-threshold", help="Projected cost if the champion router used this threshold."),
    ] = None,
) -> None:
    """Daily tokens and cost per org and project, and month-end spend against budget: the stored results by default;
    `--refit` backtests Prophet and three baselines on every series again (each ships the one with the lowest MASE),
    stores the result in ml.* and logs it to MLflow."""
    from aioa.settings import get_settings
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.forecasting.data import ForecastDataError
    from ml.forecasting.whatif import WhatIfError

    settings = get_settings()
    try:
        if refit:
            with console.status("loading Prophet") as status:
                from ml.forecasting.run import ForecastOptions, run_forecasts

                result = run_forecasts(
                    settings, ForecastOptions(horizon=horizon, org=org), progress=lambda message: status.update(message)
                )
        else:
            result = stored_run(settings, org)
            if result is None:
                console.print(
                    "[yellow]No forecast:[/yellow] no forecast has been stored yet. Run `aioa forecast --refit` "
                    "(or `aioa run`, which forecasts as part of the pipeline)."
                )
                raise typer.Exit(2)
    except (ForecastDataError, NoSnapshotError) as error:
        console.print(f"[yellow]No forecast:[/yellow] {error}")
        raise typer.Exit(2) from None
    try:
        what_if = _what_if(result, settings, what_if_mix, what_if_threshold)
    except WhatIfError as error:
        console.print(f"[yellow]No what-if:[/yellow] {error}")
        raise typer.Exit(2) from None
    models = org_models(result.backtests)
    if as_json:
        payload = result.to_dict() | {"what_if": what_if, "refit": refit}
        for row in payload["budget_projections"]:  # where the projection comes from; a lost Prophet says so
            row |= {
                "projection_model": models.get(row["org_id"], {}).get("model"),
                "prophet_lost_to_baseline": models.get(row["org_id"], {}).get("prophet_lost"),
            }
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        out = stdout_console()
        print_rich_table(_backtest_table(result.backtests))
        if result.shipped:
            print_rich_table(_projection_table(result.projections, result.backtests))
        for item in what_if:
            out.print(f"What-if ({item['change']}):")
            for row in item["orgs"]:
                out.print(
                    f"  {row['org_id']}: next days {money(row['forecast_usd'])} → "
                    f"{money(row['what_if_forecast_usd'])}; month end {money(row['what_if_month_end_usd'])}"
                )
        for item in result.skipped:
            console.print(
                f"[dim]skipped {item['org_id']}/{item['project_id'] or '(org)'} {item['metric']} "
                f"({item['stage']}): {item['reason']}[/dim]"
            )
        if refit:
            console.print(f"{result.verdict.reason}. MLflow run {result.run_id}, snapshot {result.snapshot_version}.")
        else:
            console.print(
                f"{result.verdict.reason}. Stored results of snapshot {result.snapshot_version}; `--refit` fits again."
            )
    if not result.shipped:
        raise typer.Exit(1)
