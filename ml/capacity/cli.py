"""`aioa capacity`: when will each org reach its providers' rate limits? The stored plan of the published snapshot by
default; `--refresh` computes it again from the snapshot's calls (and `--store` keeps it)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)  # messages; the table goes to stdout


def capacity_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Compute from the snapshot's calls now.")] = False,
    store: Annotated[bool, typer.Option("--store", help="With --refresh: store as ml.capacity_forecast.")] = False,
) -> None:
    """Peak calls and tokens per minute per org and provider, their 90%-quantile trend, and the day each reaches
    the configured rate limit (AIOA_PROVIDER_RATE_LIMITS)."""
    from aioa.reports.output import stdout_console
    from aioa.settings import get_settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table
    from aioa.warehouse.snapshots import NoSnapshotError
    from ml.capacity.forecast import CapacityDataError, capacity_forecast
    from ml.capacity.forecast import store as store_plan

    settings = get_settings()
    try:
        plan = None if refresh else read_ml_table(settings, "capacity_forecast", TenantScope.all_orgs())
        if plan is None:
            plan = capacity_forecast(settings)
            if store:
                store_plan(settings, plan)
    except (CapacityDataError, NoSnapshotError) as error:
        console.print(f"[yellow]No capacity plan:[/yellow] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(plan.to_dict("records"), indent=2, default=str))
        return
    table = Table(title="Rate-limit headroom per org and provider (peak minute per day; 90% trend)")
    for column in (
        "org",
        "provider",
        "metric",
        "peak (56 d)",
        "p90 trend now",
        "in 30 d",
        "limit",
        "limit hit",
        "status",
    ):
        table.add_column(column, justify="left" if column in ("org", "provider", "metric", "status") else "right")
    for row in plan.to_dict("records"):
        table.add_row(
            row["org_id"],
            row["provider"],
            row["metric"].replace("_", " "),
            _number(row["observed_peak"]),
            _number(row["trend_p90_today"]),
            _number(row["forecast_p90_in_30_days"]),
            _number(row["limit"]),
            ""
            if row["limit_hit_day"] is None or row["limit_hit_day"] != row["limit_hit_day"]
            else str(row["limit_hit_day"])[:10],
            row["status"].replace("_", " "),
        )
    stdout_console().print(table)


def _number(value) -> str:
    return "" if value is None or value != value else f"{value:,.0f}"
