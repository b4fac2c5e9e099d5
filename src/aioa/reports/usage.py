"""Token and cost totals per period, session, project or model, each with a per-model breakdown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb

from aioa.warehouse.access import TenantScope

# report kind -> (output key, SQL expression over raw.llm_calls)
REPORT_KINDS = {
    "daily": ("date", "strftime(local_ts, '%Y-%m-%d')"),
    "monthly": ("month", "strftime(local_ts, '%Y-%m')"),
    "session": ("session_id", "session_id"),
    "project": ("project_id", "project_id"),
    "model": ("model", "model"),
}

_TOTALS = """
    sum(input_tokens)::bigint as input_tokens,
    sum(output_tokens)::bigint as output_tokens,
    sum(cache_write_5m_tokens + cache_write_1h_tokens)::bigint as cache_creation_tokens,
    sum(cache_write_5m_tokens)::bigint as cache_write_5m_tokens,
    sum(cache_write_1h_tokens)::bigint as cache_write_1h_tokens,
    sum(cache_read_tokens)::bigint as cache_read_tokens,
    sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens)::bigint
        as total_tokens,
    coalesce(sum(cost_usd), 0) as cost_usd,
    count(*) filter (where price_status = 'unpriced') as unpriced_calls,
    count(*) filter (where status = 'ok') as calls,
    count(*) filter (where status = 'error') as errors
"""


def usage_report(
    connection: duckdb.DuckDBPyConnection,
    kind: str,
    *,
    scope: TenantScope,
    timezone: str = "UTC",
    since: date | None = None,
    until: date | None = None,
) -> list[dict]:
    """One dict per key (date, month, session, project or model), ordered by key, with a `models` breakdown."""
    key_name, key_sql = REPORT_KINDS[kind]
    tenant_sql, tenant_params = scope.filter_sql()
    sql = f"""
        with calls as (
            select *, timezone($tz, ts_utc::timestamptz) as local_ts
            from raw.llm_calls
            where {tenant_sql}
        ),
        scoped as (
            select *, {key_sql} as report_key from calls
            where ($since is null or local_ts::date >= $since) and ($until is null or local_ts::date <= $until)
        ),
        by_model as (
            select report_key, model, {_TOTALS} from scoped group by all
        ),
        by_key as (
            select report_key, {_TOTALS}, max(ts_utc) as last_activity_utc from scoped group by all
        )
        select by_key.*, list(by_model order by by_model.cost_usd desc, by_model.model) as models
        from by_key join by_model using (report_key)
        group by all
        order by report_key
    """
    params = {"tz": timezone, "since": since, "until": until, **tenant_params}
    cursor = connection.execute(sql, params)
    names = [column[0] for column in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        row[key_name] = row.pop("report_key")
        row["last_activity_utc"] = row["last_activity_utc"].isoformat() + "Z"
        row["models"] = [_clean_model(entry) for entry in row["models"]]
        rows.append(_jsonable(row, key_name))
    return rows


def _clean_model(entry: dict) -> dict:
    entry = dict(entry)
    entry.pop("report_key", None)
    return _jsonable(entry, "model")


def _jsonable(row: dict, first: str) -> dict:
    ordered = {first: row[first]}
    for name, value in row.items():
        if name != first:
            ordered[name] = float(value) if isinstance(value, Decimal) else value
    return ordered
