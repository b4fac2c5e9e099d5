"""Token and cost totals per period, session, project or model, each with a per-model breakdown.

An API error Claude Code logged under the pseudo-model `<synthetic>` is an error of the model that failed, by the
rule dbt uses (dbt_project/macros/synthetic_errors.sql, rendered here): it adds to that model's `errors` and never
shows as a model. Its tokens (zero) and cost (none) change no total."""

from __future__ import annotations

import functools
import re
from datetime import date
from decimal import Decimal

import duckdb

from aioa.warehouse.access import TenantScope
from aioa.warehouse.dbt.runner import DBT_PROJECT_DIR
from aioa.warehouse.relations import tenant_filter

# report kind -> (output key, SQL expression over the local timestamp / columns)
REPORT_KINDS = {
    "daily": ("date", "local_ts::date"),
    "monthly": ("month", "date_trunc('month', local_ts)::date"),
    "session": ("session_id", "session_id"),
    "project": ("project_id", "project_id"),
    "model": ("model", "model"),
}
_KEY_FORMAT = {"daily": "%Y-%m-%d", "monthly": "%Y-%m"}

_MEASURES = {
    "input_tokens": "sum(input_tokens)",
    "output_tokens": "sum(output_tokens)",
    "cache_creation_tokens": "sum(cache_write_5m_tokens + cache_write_1h_tokens)",
    "cache_write_5m_tokens": "sum(cache_write_5m_tokens)",
    "cache_write_1h_tokens": "sum(cache_write_1h_tokens)",
    "cache_read_tokens": "sum(cache_read_tokens)",
    "total_tokens": "sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens"
    " + cache_read_tokens)",
    "cost_usd": "coalesce(sum(cost_usd), 0)",
    "unpriced_calls": "count(*) filter (where price_status = 'unpriced')",
    "calls": "count(*) filter (where status = 'ok')",
    "errors": "count(*) filter (where status = 'error')",
}
# the columns of raw.llm_calls the report reads besides the model (the keys and the measures' inputs)
_CALL_COLUMNS = (
    "ts_utc, session_id, project_id, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
    "cache_read_tokens, cost_usd, price_status, status"
)


# The macro's body between its tags, whose `-` strip the whitespace around it (Jinja's whitespace control).
_MACRO_BODY = re.compile(r"\{%-?\s*macro synthetic_attribution\(calls\)\s*-%\}(.*?)\{%-\s*endmacro\s*-?%\}", re.S)


@functools.cache
def synthetic_attribution_sql(calls: str) -> str:
    """dbt's rule for `<synthetic>` errors (its macro) over the relation or CTE `calls`: one row (call_key,
    attributed_model) per such error that has a model to go to."""
    return render_synthetic_attribution((DBT_PROJECT_DIR / "macros" / "synthetic_errors.sql").read_text(), calls)


def render_synthetic_attribution(macro_file: str, calls: str) -> str:
    """What Jinja renders for the macro `synthetic_attribution(calls)` of `macro_file`. While its body is plain SQL
    with `{{ calls }}`, that is the body with `calls` put in, done without jinja2 (~45 ms a report); a body with any
    other Jinja is rendered by jinja2."""
    match = _MACRO_BODY.search(macro_file)
    body = match.group(1).strip() if match else ""
    if match and not any(mark in body.replace("{{ calls }}", "") for mark in ("{{", "{%", "{#", "\r")):
        return body.replace("{{ calls }}", calls)
    import jinja2

    return str(jinja2.Environment(autoescape=False).from_string(macro_file).module.synthetic_attribution(calls))


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
    tenant_sql, tenant_params = tenant_filter(scope, "raw.llm_calls")  # its team_id/user_id narrow a scope
    # Two passes: the calls are first summed per 15-minute UTC bucket (and model, and the key column if the report
    # is not by time), then the few buckets are moved to local time and rolled up per key. Every time zone's offset
    # is a multiple of 15 minutes and changes on a 15-minute boundary, so no bucket straddles a local day; the
    # sums are exact, and the zone conversion runs per bucket instead of per call.
    key_column = "" if key_sql.startswith(("local_ts", "date_trunc")) or key_sql == "model" else f"{key_sql}, "
    local_ts = "bucket_utc" if timezone == "UTC" else "timezone($tz, bucket_utc::timestamptz)"
    per_bucket = ", ".join(f"{sql} as {name}" for name, sql in _MEASURES.items())
    by_model = ", ".join(
        f"sum({name})::{'decimal(38, 10)' if name == 'cost_usd' else 'bigint'} as {name}" for name in _MEASURES
    )
    rollup = ", ".join(
        f"sum({name})::{'decimal(38, 10)' if name == 'cost_usd' else 'bigint'} as {name}" for name in _MEASURES
    )
    model_struct = ", ".join(f"{name} := {name}" for name in ("model", *_MEASURES))
    sql = f"""
        with calls as not materialized (  -- what the `<synthetic>` rule reads (inlined: a copy of every call costs seconds)
            select call_key, session_id as session_key, org_id, user_id, ts_utc, model
            from raw.llm_calls
            where {tenant_sql}
        ),
        attribution as materialized (  -- computed once, however the planner joins it
            {synthetic_attribution_sql("calls")}
        ),
        attributed as (  -- only the few `<synthetic>` rows are joined to their attribution
            select {_CALL_COLUMNS}, model
            from raw.llm_calls
            where {tenant_sql} and model is distinct from '<synthetic>'
            union all
            select {_CALL_COLUMNS}, coalesce(attribution.attributed_model, llm_calls.model) as model
            from raw.llm_calls
            left join attribution on attribution.call_key = llm_calls.call_key
            where {tenant_sql} and llm_calls.model = '<synthetic>'
        ),
        buckets as (
            select time_bucket(interval 15 minutes, ts_utc) as bucket_utc, {key_column}model, {per_bucket},
                   max(ts_utc) as last_activity_utc
            from attributed
            group by all
        ),
        localized as (
            select *, {local_ts} as local_ts from buckets
        ),
        by_model as (
            select {key_sql} as report_key, model, {by_model}, max(last_activity_utc) as last_activity_utc
            from localized
            where ($since is null or local_ts::date >= $since) and ($until is null or local_ts::date <= $until)
            group by all
        )
        select report_key, {rollup}, max(last_activity_utc) as last_activity_utc,
               list(struct_pack({model_struct}) order by cost_usd desc, model) as models
        from by_model
        group by report_key
        order by report_key
    """
    params = {"since": since, "until": until, **tenant_params}
    if timezone != "UTC":
        params["tz"] = timezone
    cursor = connection.execute(sql, params)
    names = [column[0] for column in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        key = row.pop("report_key")
        row[key_name] = key.strftime(_KEY_FORMAT[kind]) if kind in _KEY_FORMAT else key
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


def report_fields(kind: str) -> list:
    """The report's table columns (the CLI's `--format table|csv`): the key, tokens by kind, calls, errors, cost and
    the models used; tokens, calls, errors and cost are summed in the totals row."""
    from aioa.formatting import count, money
    from aioa.reports.output import Field

    key = REPORT_KINDS[kind][0]
    return [
        Field(key, key.replace("_id", "").replace("_", " "), align="left"),
        Field("input_tokens", "input", count, total=True),
        Field("output_tokens", "output", count, total=True),
        Field("cache_creation_tokens", "cache write", count, total=True),
        Field("cache_read_tokens", "cache read", count, total=True),
        Field("total_tokens", "total tokens", count, total=True),
        Field("calls", "calls", count, total=True),
        Field("errors", "errors", count, total=True),
        Field("unpriced_calls", "unpriced", count, total=True),
        Field("cost_usd", "cost (USD)", money, total=True),
        Field(
            "models",
            "models",
            lambda models: ", ".join(model["model"] for model in models) if isinstance(models, list) else "",
            align="left",
            plain=lambda models: ";".join(model["model"] for model in models),
        ),
    ]
