"""What the recommendations read, tenant-scoped with bound parameters (the analytics layer's `where`): per project
and model token sums, short calls per model, logged handoffs with their propensities, model prices (the pricing
module's list prices, carried by marts.dim_models) and the stored anomalies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from aioa.analytics import Filters, filter_options, ml_table
from aioa.analytics.filters import where
from aioa.warehouse.access import TenantScope
from aioa.warehouse.relations import tenant_filter

WINDOW_DAYS = 28  # usage, cache and short-call recommendations: the last four weeks of the caller's data
ROUTING_DAYS = 90  # handoffs are fewer: the off-policy estimate needs a longer window
SHORT_OUTPUT_TOKENS = 300  # a call that answered in at most this many tokens is a short task


@dataclass
class Inputs:
    last_day: date | None
    window_days: int
    routing_days: int
    cache: pd.DataFrame  # org_id, project_id, model, input_tokens, cache_read_tokens, cache_write_tokens
    short_calls: pd.DataFrame  # org_id, project_id, model, calls, *tokens, cost_usd of calls with few output tokens
    handoffs: pd.DataFrame  # org_id, task_type, target_model, propensity, success (NULL: unknown), cost_usd
    prices: pd.DataFrame  # org_id, model, provider, input/output/cache_read/cache_write_5m price per Mtok
    spend: pd.DataFrame  # org_id, cost_usd, calls over the window
    anomalies: pd.DataFrame | None


def _frame(connection, sql: str, params: dict) -> pd.DataFrame:
    return connection.cursor().execute(sql, params).df()


def read_inputs(
    connection: duckdb.DuckDBPyConnection,
    scope: TenantScope,
    *,
    window_days: int = WINDOW_DAYS,
    routing_days: int = ROUTING_DAYS,
    short_output_tokens: int = SHORT_OUTPUT_TOKENS,
) -> Inputs:
    last_day = filter_options(connection, scope)["last_day"]
    if last_day is None:
        empty = pd.DataFrame()
        return Inputs(None, window_days, routing_days, empty, empty, empty, empty, empty, None)
    window = Filters(start=last_day - timedelta(days=window_days - 1), end=last_day)
    routing = Filters(start=last_day - timedelta(days=routing_days - 1), end=last_day)
    usage_clause, usage_params = where(window, scope, relation="marts.agg_usage_daily")
    calls_clause, calls_params = where(window, scope, relation="marts.fct_llm_calls")
    handoff_clause, handoff_params = where(routing, scope, relation="marts.fct_handoffs")
    price_sql, price_params = tenant_filter(scope, "marts.dim_models")
    return Inputs(
        last_day=last_day,
        window_days=window_days,
        routing_days=routing_days,
        cache=_frame(
            connection,
            f"""
            select org_id, project_id, model, sum(input_tokens)::double as input_tokens,
                   sum(cache_read_tokens)::double as cache_read_tokens,
                   sum(cache_write_tokens)::double as cache_write_tokens
            from marts.agg_usage_daily {usage_clause} and project_id is not null
            group by all order by all""",
            usage_params,
        ),
        short_calls=_frame(
            connection,
            f"""
            select org_id, project_id, model, count(*) as calls, sum(input_tokens)::double as input_tokens,
                   sum(output_tokens)::double as output_tokens, sum(cache_read_tokens)::double as cache_read_tokens,
                   sum(cache_write_tokens)::double as cache_write_tokens, sum(cost_usd) as cost_usd
            from marts.fct_llm_calls {calls_clause} and output_tokens <= $short_output and cost_usd is not null
            group by all order by all""",
            calls_params | {"short_output": short_output_tokens},
        ),
        handoffs=_frame(
            connection,
            f"""
            select org_id, task_type, target_model, propensity, cast(success as double) as success, cost_usd, day
            from marts.fct_handoffs {handoff_clause}
              and task_type is not null and cost_usd is not null
            order by org_id, task_type, ts_utc, handoff_id""",
            handoff_params,
        ),
        prices=_frame(
            connection,
            f"""
            select org_id, model, provider, input_price_per_mtok, output_price_per_mtok, cache_read_price_per_mtok,
                   cache_write_5m_price_per_mtok
            from marts.dim_models where {price_sql} and priced order by org_id, model""",
            price_params,
        ),
        spend=_frame(
            connection,
            f"""
            select org_id, sum(cost_usd) as cost_usd, sum(calls) as calls
            from marts.agg_usage_daily {usage_clause} group by org_id order by org_id""",
            usage_params,
        ),
        anomalies=ml_table(connection, scope, "anomalies"),
    )
