"""Daily series (per org and per org × project) and budgets from the read snapshot; missing days are zeros."""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("cost_usd", "total_tokens")
MIN_HISTORY_DAYS = 28  # four weeks: enough for Prophet to see the weekly pattern a few times
MIN_ACTIVE_DAYS = 14  # days with any usage; fewer and the "pattern" is mostly zeros
MIN_ACTIVE_SHARE = 0.5  # intermittent usage (most days zero) is not what a daily Prophet model describes

# One row per series and day, from the first day the series has usage to the data's last day (a shared end: a
# series that went quiet is forecast from its zeros, not from its last busy day).
SERIES_SQL = """
with daily as (
    select org_id, project_id, day,
           sum(total_tokens)::double as total_tokens,
           coalesce(sum(cost_usd), 0)::double as cost_usd
    from marts.agg_usage_daily
    group by all
),
org_daily as (
    select org_id, null::varchar as project_id, day, sum(total_tokens) as total_tokens, sum(cost_usd) as cost_usd
    from daily
    group by all
),
series as (
    select * from daily
    union all
    select * from org_daily
),
spans as (
    select org_id, project_id, min(day) as first_day, (select max(day) from marts.agg_usage_daily) as last_day
    from series
    group by all
),
grid as (
    select org_id, project_id, unnest(generate_series(first_day, last_day, interval 1 day))::date as day
    from spans
)
select grid.org_id, grid.project_id, grid.day,
       coalesce(series.total_tokens, 0) as total_tokens,
       coalesce(series.cost_usd, 0) as cost_usd
from grid
left join series
    on series.org_id = grid.org_id
    and series.project_id is not distinct from grid.project_id
    and series.day = grid.day
order by grid.org_id, grid.project_id nulls first, grid.day
"""


class ForecastDataError(ValueError):
    """There is nothing to forecast; the message says what is missing."""


def load_daily_series(connection) -> pd.DataFrame:
    """org_id, project_id (null = the org as a whole), day, total_tokens, cost_usd; zero-filled."""
    frame = connection.execute(SERIES_SQL).df()
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def load_budgets(connection) -> pd.DataFrame:
    return connection.execute("select org_id, monthly_budget_usd from marts.dim_orgs").df()


def load_recent_model_usage(connection, days: int = 28) -> pd.DataFrame:
    """Tokens and cost per org and model over the last `days` days of data (the mix a what-if changes)."""
    return connection.execute(
        """
        select org_id, model, sum(total_tokens)::double as total_tokens, sum(cost_usd)::double as cost_usd
        from marts.agg_usage_daily
        where day > (select max(day) from marts.agg_usage_daily) - ?::integer
        group by all
        """,
        [days],
    ).df()


def unusable_reason(values: np.ndarray | pd.Series) -> str | None:
    """Why a series cannot be modelled, or None: too short, too few active days, or constant."""
    values = np.asarray(values, dtype=float)
    if len(values) < MIN_HISTORY_DAYS:
        return f"only {len(values)} days of history (need {MIN_HISTORY_DAYS})"
    active = int((values > 0).sum())
    if active < MIN_ACTIVE_DAYS:
        return f"only {active} days with usage (need {MIN_ACTIVE_DAYS})"
    if active < MIN_ACTIVE_SHARE * len(values):
        return (
            f"intermittent usage: {active} of {len(values)} days have any (need at least "
            f"{MIN_ACTIVE_SHARE:.0%}); a daily forecast of mostly-zero days would mislead"
        )
    if np.ptp(values) == 0:
        return f"the series is constant ({values[0]:g} every day): nothing to learn, a flat line says it all"
    return None
