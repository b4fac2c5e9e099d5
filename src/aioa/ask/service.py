"""`ask()`: question → SQL (offline parser or LLM) → guard → read-only execution → answer, rows, chart, SQL."""

from __future__ import annotations

from datetime import date

import pandas as pd

from aioa.ask.guard import GuardedQuery, QueryRefused, guard
from aioa.ask.offline import NotUnderstood, ParsedQuestion, parse, to_sql
from aioa.ask.result import AskResult, ChartSpec
from aioa.settings import Settings, get_settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.connection import QueryTimeout, statement_timeout
from aioa.warehouse.relations import tenant_filter

EXAMPLES = (
    "spend by project last month",
    "top 5 users by tokens this month",
    "daily spend trend for checkout-api over the last 30 days",
    "error rate by model",
    "spend this month vs last month",
)


def ask(
    question: str,
    scope: TenantScope,
    connection=None,
    settings: Settings | None = None,
    today: date | None = None,
    chat_model=None,
) -> AskResult:
    settings = settings or get_settings()
    if len(question) > settings.ask_question_max_chars:
        return AskResult(
            question[:200],
            reason=f"The question is too long ({len(question):,} characters; at most "
            f"{settings.ask_question_max_chars:,}). Ask something shorter.",
        )
    own_connection = connection is None
    if own_connection:
        from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

        try:
            connection, _ = open_snapshot(settings)
        except NoSnapshotError:
            return AskResult(question, reason="No data yet: run `make demo` or `uv run aioa run` first.")
    try:
        today = today or _latest_day(connection, scope) or date.today()
        if chat_model is not None or settings.llm_provider != "none":
            return _ask_llm(question, scope, connection, settings, today, chat_model)
        return _ask_offline(question, scope, connection, settings, today)
    finally:
        if own_connection:
            connection.close()


def run_sql(sql: str, scope: TenantScope, connection, settings: Settings | None = None) -> AskResult:
    """A user's own SQL through the same guard (the SQL box)."""
    settings = settings or get_settings()
    result = AskResult(sql, path="sql")
    try:
        guarded = guard(sql, scope, row_limit=settings.ask_row_limit)
    except QueryRefused as error:
        result.refused, result.reason = True, str(error)
        return result
    return _execute(result, guarded, connection, None, settings)


def _ask_offline(question, scope, connection, settings, today) -> AskResult:
    result = AskResult(question, path="offline")
    try:
        parsed = parse(question, today, _known_values(connection, scope))
    except NotUnderstood as error:
        result.reason = (
            f"I can't answer that offline ({error}). I answer questions like: "
            + "; ".join(f"“{example}”" for example in EXAMPLES)
            + ". For other questions, configure an LLM provider (AIOA_LLM_PROVIDER)."
        )
        return result
    sql, params = to_sql(parsed)
    try:
        guarded = guard(sql, scope, row_limit=settings.ask_row_limit, params=params)
    except QueryRefused as error:
        result.refused, result.reason = True, str(error)
        return result
    return _execute(result, guarded, connection, parsed, settings)


def _ask_llm(question, scope, connection, settings, today, chat_model) -> AskResult:
    from aioa.ask.llm import chat_model as build_chat_model
    from aioa.ask.llm import question_to_sql

    result = AskResult(question, path="llm")
    try:
        sql = question_to_sql(question, chat_model or build_chat_model(settings), today)
    except Exception as error:  # noqa: BLE001 - a provider or network failure is an answer, not a traceback
        result.reason = f"The language model did not answer ({type(error).__name__}: {_first_line(error)})."
        return result
    result.sql = sql
    try:
        guarded = guard(sql, scope, row_limit=settings.ask_row_limit)
    except QueryRefused as error:
        result.refused, result.reason = True, str(error)
        return result
    return _execute(result, guarded, connection, None, settings)


def _execute(
    result: AskResult, guarded: GuardedQuery, connection, parsed: ParsedQuestion | None, settings: Settings
) -> AskResult:
    result.sql = guarded.sql
    cursor = connection.cursor()
    try:
        with statement_timeout(cursor, settings.reader_statement_timeout_s):
            result.rows = cursor.execute(guarded.sql, guarded.params).df()
    except QueryTimeout as error:
        result.reason = f"The query was stopped: {error}."
        return result
    except Exception as error:  # noqa: BLE001 - a valid but failing query is reported, not raised
        result.reason = f"The query failed: {_first_line(error)}"
        return result
    finally:
        cursor.close()
    result.answered = True
    result.answer = _sentence(result.rows, parsed)
    if parsed is not None and parsed.notes:
        result.answer += " " + " ".join(parsed.notes)
    result.chart = _chart(result.rows, parsed)
    return result


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [""])[0][:300]


def _latest_day(connection, scope: TenantScope) -> date | None:
    tenant_sql, params = tenant_filter(scope, "marts.agg_usage_daily")
    return (
        connection.cursor()
        .execute(f"select max(day) from marts.agg_usage_daily where {tenant_sql}", params)
        .fetchone()[0]
    )


def _known_values(connection, scope: TenantScope) -> dict[str, list[str]]:
    """The values a question may name, from the rows `scope` may read (never another team's user names)."""
    tenant_sql, params = tenant_filter(scope, "marts.agg_usage_daily")
    values: dict[str, list[str]] = {}
    for column in ("org_id", "team_id", "user_id", "project_id", "project_group", "model", "provider"):
        rows = (
            connection.cursor()
            .execute(
                f"select distinct {column} from marts.agg_usage_daily where {tenant_sql} and {column} is not null",
                params,
            )
            .fetchall()
        )
        values[column] = [row[0] for row in rows]
    tenant_sql, params = tenant_filter(scope, "marts.agg_mcp_tools_daily")
    rows = (
        connection.cursor()
        .execute(
            f"select distinct mcp_server from marts.agg_mcp_tools_daily where {tenant_sql} and mcp_server is not null",
            params,
        )
        .fetchall()
    )
    values["mcp_server"] = [row[0] for row in rows]
    return values


def _format(value, unit: str) -> str:
    if value is None or pd.isna(value):
        return "no data"
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "ratio":
        return f"{value:.1%}"
    return f"{value:,.0f}"


def _sentence(rows: pd.DataFrame, parsed: ParsedQuestion | None) -> str:
    if rows.empty:
        return "No rows match the question."
    if parsed is None:
        return f"{len(rows)} row(s)."
    value_name = parsed.metric.replace(" ", "_")
    scope = ""
    if parsed.periods:
        scope = " " + " vs ".join(period.label for period in parsed.periods[:4])
    if parsed.filters:
        scope += " for " + ", ".join(parsed.filters.values())
    if len(rows) == 1 and rows.columns.tolist() == [value_name]:
        return f"{parsed.metric.capitalize()}{scope}: {_format(rows.iloc[0][value_name], parsed.unit)}."
    label_column = rows.columns[0]
    first = rows.iloc[0]
    return (
        f"{parsed.metric.capitalize()}{scope}: {len(rows)} row(s); first: {first[label_column]} "
        f"at {_format(first[value_name], parsed.unit)}."
    )


def _chart(rows: pd.DataFrame, parsed: ParsedQuestion | None) -> ChartSpec | None:
    if parsed is None or rows.empty or len(rows.columns) < 2:
        return None
    value_name = parsed.metric.replace(" ", "_")
    if parsed.grain:
        return ChartSpec("line", parsed.grain, value_name, parsed.dimension)
    x = "period" if "period" in rows.columns else rows.columns[0]
    color = parsed.dimension if x == "period" and parsed.dimension else None
    return ChartSpec("bar", x, value_name, color)
