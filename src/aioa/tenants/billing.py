"""Billing usage per tenant and UTC calendar month, read from the published snapshot through the tenant scope.

One row per month: calls (`status = ok`) and errors, tokens by kind, cost, calls without a price, active users
(distinct user ids with a call) and stored rows (the org's rows in the raw fact tables, llm_calls + tool_calls +
handoffs, dated in the month). The numbers are the ones `aioa report monthly` shows for the org in UTC.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime

from aioa.settings import Settings
from aioa.warehouse.access import TenantScope

COLUMNS = (
    "org_id",
    "month",
    "calls",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "total_tokens",
    "cost_usd",
    "unpriced_calls",
    "active_users",
    "stored_rows",
)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# {tenant}: TenantScope.filter_sql() (org ids bound as $scope_org_ids); the period is bound ($start, $end).
_PERIOD = "($start is null or ts_utc >= $start) and ($end is null or ts_utc < $end)"
_EXPORT = """
with calls as (
    select date_trunc('month', ts_utc)::date as month,
           count(*) filter (where status = 'ok') as calls,
           count(*) filter (where status = 'error') as errors,
           sum(input_tokens) as input_tokens,
           sum(output_tokens) as output_tokens,
           sum(cache_read_tokens) as cache_read_tokens,
           sum(cache_write_5m_tokens + cache_write_1h_tokens) as cache_write_tokens,
           sum(input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)
               as total_tokens,
           coalesce(sum(cost_usd), 0)::decimal(38, 10) as cost_usd,
           count(*) filter (where price_status = 'unpriced') as unpriced_calls,
           count(distinct user_id) as active_users
    from raw.llm_calls
    where {tenant} and {period}
    group by all
),
stored as (
    select month, count(*) as stored_rows
    from (
        select date_trunc('month', ts_utc)::date as month from raw.llm_calls where {tenant} and {period}
        union all
        select date_trunc('month', ts_utc)::date from raw.tool_calls where {tenant} and {period}
        union all
        select date_trunc('month', ts_utc)::date from raw.handoffs where {tenant} and {period}
    )
    group by all
)
select month, calls, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens,
       cost_usd, unpriced_calls, active_users, stored_rows
from stored full join calls using (month)
order by month
"""


def usage_export(settings: Settings, org_id: str, month: str | None) -> list[dict]:
    """The org's billing rows from the current snapshot: for `month` ("YYYY-MM", a row of zeros if nothing
    happened), or for every month with data when `month` is None."""
    from aioa.warehouse.connection import statement_timeout
    from aioa.warehouse.snapshots import open_snapshot

    month_bounds(month)  # a bad month fails before the snapshot is opened
    connection, _version = open_snapshot(settings)
    with connection, statement_timeout(connection, settings.reader_statement_timeout_s):
        return billing_rows(connection, org_id, month)


def billing_rows(connection, org_id: str, month: str | None) -> list[dict]:
    """The rows of `usage_export` on an open read connection (a DuckDB connection or the API's TimedReader)."""
    start, end = month_bounds(month)
    tenant_sql, params = TenantScope.for_orgs(org_id).filter_sql("org_id")
    cursor = connection.execute(
        _EXPORT.format(tenant=tenant_sql, period=_PERIOD), {**params, "start": start, "end": end}
    )
    names = [column[0] for column in cursor.description]
    rows = [_row(org_id, dict(zip(names, values, strict=True))) for values in cursor.fetchall()]
    if month is not None and not rows:
        rows = [{"org_id": org_id, "month": month, **{name: 0 for name in COLUMNS[2:]}, "cost_usd": 0.0}]
    return rows


def month_bounds(month: str | None) -> tuple[datetime | None, datetime | None]:
    """[first instant, first instant of the next month) in UTC; (None, None) for every month."""
    if month is None:
        return None, None
    match = _MONTH.match(month)
    if not match:
        raise ValueError(f"month must look like 2026-03 (YYYY-MM), not {month!r}")
    year, number = int(match[1]), int(match[2])
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return datetime(year, number, 1), datetime(following.year, following.month, 1)


def as_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2)


def _row(org_id: str, values: dict) -> dict:
    row = {"org_id": org_id, "month": values.pop("month").strftime("%Y-%m")}
    for name in COLUMNS[2:]:
        value = values[name]
        if name == "cost_usd":
            row[name] = float(value) if value is not None else 0.0  # as usage_report: float of the exact sum
        else:
            row[name] = int(value) if value is not None else 0
    return row
