"""`ask()`: question → SQL (offline parser or LLM) → guard → read-only execution → answer, rows, chart, SQL."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from aioa import formatting
from aioa.ask import whatif
from aioa.ask.guard import GuardedQuery, QueryRefused, guard
from aioa.ask.offline import NotUnderstood, ParsedQuestion, parse, to_sql
from aioa.ask.result import AskResult, ChartSpec
from aioa.metrics import askable_metrics, table_dimensions
from aioa.ops.tracing import traced
from aioa.settings import Settings, get_settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.connection import QueryTimeout, statement_timeout
from aioa.warehouse.relations import tenant_filter

EXAMPLES = (
    "spend by project last month",
    "which user spent the most on opus this month",
    "top 5 users by tokens this month",
    "daily spend trend over the last 30 days",
    "average latency of opus vs sonnet",
    "error rate by model this month vs last month",
    "cache hit rate by team",
    "how much would we save routing more to deepseek",
)


@traced("aioa.ask", lambda question, *_, **__: {"question_chars": len(question)})  # never the text
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
        if whatif.is_what_if(question):  # a hypothetical is the what-if engine's, never SQL a model writes
            return _ask_what_if(question, scope, connection, settings, today)
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
        result.reason = _not_understood(error)
        return result
    sql, params = to_sql(parsed)
    try:
        guarded = guard(sql, scope, row_limit=settings.ask_row_limit, params=params)
    except QueryRefused as error:
        result.refused, result.reason = True, str(error)
        return result
    first_day, last_day = (None, None) if parsed.periods else _data_span(connection, scope, parsed.table)
    result.understood = parsed.words(first_day, last_day)
    return _execute(result, guarded, connection, parsed, settings)


def _not_understood(error: NotUnderstood) -> str:
    return (
        f"Not answered: {error}. I answer questions like: "
        + "; ".join(f"“{example}”" for example in EXAMPLES)
        + ". For other questions, configure an LLM provider (AIOA_LLM_PROVIDER)."
    )


def _ask_what_if(question, scope, connection, settings, today) -> AskResult:
    """A savings question through the what-if engine over the caller's recent usage (tenant-scoped)."""
    from aioa.analytics.queries import recent_model_usage

    result = AskResult(question, path="what-if")
    try:
        scenario = whatif.parse(question, _known_values(connection, scope).get("model", []))
        usage = recent_model_usage(connection, scope, days=whatif.RECENT_DAYS)
        first, last = whatif.window(today)
        if isinstance(scenario, whatif.ThresholdQuestion):
            rows = whatif.threshold_savings(usage, scenario, settings)
            result.answer, result.understood = whatif.threshold_sentence(rows, first, last)
        else:
            rows = whatif.mix_savings(usage, scenario)
            result.answer, result.understood = whatif.mix_sentence(rows, scenario, first, last)
            result.chart = ChartSpec("bar", "from_model", "saving_usd", "share_moved")
    except NotUnderstood as error:
        result.reason = _not_understood(error)
        return result
    result.rows, result.answered = rows, True
    return result


def _data_span(connection, scope: TenantScope, table: str) -> tuple[date | None, date | None]:
    """The first and last day of `table` the scope may read (an answer over all data says which days they are)."""
    try:
        guarded = guard(f"select min(day) as first_day, max(day) as last_day from marts.{table}", scope)
    except QueryRefused:
        return None, None
    row = connection.cursor().execute(guarded.sql, guarded.params).fetchone()
    return (row[0], row[1]) if row else (None, None)


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
    result.understood = "SQL written by the language model: its window and filters are the WHERE clause shown"
    try:
        guarded = guard(sql, scope, row_limit=settings.ask_row_limit)
    except QueryRefused as error:
        result.refused, result.reason = True, str(error)
        return result
    return _execute(result, guarded, connection, None, settings)


def _execute(
    result: AskResult, guarded: GuardedQuery, connection, parsed: ParsedQuestion | None, settings: Settings
) -> AskResult:
    result.sql, result.parameters = guarded.sql, dict(guarded.params)
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
    result.answer = _sentence(result.rows, parsed, result.understood)
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
    """The values a question may name: each registry dimension's values in the marts a question reads, from the
    rows `scope` may read (never another team's user names, never another org's model)."""
    values: dict[str, set[str]] = {}
    for table in sorted({metric.table for metric in askable_metrics().values()}):
        columns = sorted(table_dimensions(table))
        tenant_sql, params = tenant_filter(scope, f"marts.{table}")
        rows = (  # the distinct combinations: one cheap hash aggregate, not a distinct list per column
            connection.cursor()
            .execute(f"select distinct {', '.join(columns)} from marts.{table} where {tenant_sql}", params)
            .fetchall()
        )
        for index, column in enumerate(columns):
            values.setdefault(column, set()).update(row[index] for row in rows if row[index] is not None)
    return {column: sorted(found) for column, found in values.items()}


def _format(value, unit: str) -> str:
    if value is None or pd.isna(value):
        return "no data"
    if unit == "usd":
        return f"${value:,.2f}" if abs(value) >= 1 or value == 0 else f"${value:,.4f}"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.0f}"


def _cell(value, column: str) -> str:
    if formatting.is_missing(value):
        return f"no {formatting.label(column).lower()}"  # users without a team: "no team", not "None"
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)


def _sentence(rows: pd.DataFrame, parsed: ParsedQuestion | None, understood: str | None) -> str:
    """The answer in one sentence, ending with what was answered (window, filters) in words."""
    read_as = f" (Answered: {understood}.)" if understood else ""
    if rows.empty:
        return "No rows match the question." + read_as
    if parsed is None:
        return f"{len(rows)} row(s).{read_as}"
    value_name = parsed.metric
    labels = [column for column in rows.columns if column != value_name]
    values = rows[value_name].tolist()
    if not labels:
        return f"{parsed.label}: {_format(values[0], parsed.unit)}." + read_as

    def name(row) -> str:
        return " · ".join(_cell(row[column], column) for column in labels)

    if parsed.top == 1 and len(rows) == 1:
        which = "lowest" if parsed.ascending else "highest"
        row = rows.iloc[0]
        noun = re.sub(r"\s*\(.*\)$", "", parsed.label).lower()  # "Spend (USD)" → "spend"
        return f"{name(row)} has the {which} {noun}: {_format(row[value_name], parsed.unit)}." + read_as
    if len(rows) <= 8 and not parsed.grain:
        listed = "; ".join(f"{name(row)}: {_format(row[value_name], parsed.unit)}" for _, row in rows.iterrows())
        return f"{parsed.label}: {listed}." + read_as
    first = rows.iloc[0]
    return (
        f"{parsed.label}: {len(rows)} rows; first: {name(first)} at {_format(first[value_name], parsed.unit)}."
        + read_as
    )


def _chart(rows: pd.DataFrame, parsed: ParsedQuestion | None) -> ChartSpec | None:
    if parsed is None or rows.empty or len(rows.columns) < 2:
        return None
    value_name = parsed.metric
    groups = parsed.group_columns()
    if parsed.grain:
        return ChartSpec("line", parsed.grain, value_name, groups[0] if groups else None)
    x = "period" if "period" in rows.columns else rows.columns[0]
    color = next((column for column in groups if column != x), None)
    return ChartSpec("bar", x, value_name, color)
