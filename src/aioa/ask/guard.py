"""The SQL guard: one read-only SELECT over the marts, allow-listed functions, the caller's tenant filter applied
by rewriting every table reference, and a row limit. Anything else is refused with the reason."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from aioa.warehouse.access import TenantScope

MART_TABLES = frozenset({
    "fct_llm_calls", "fct_tool_calls", "fct_handoffs", "fct_sessions", "dim_orgs", "dim_teams", "dim_users",
    "dim_projects", "dim_models", "agg_usage_daily", "agg_usage_hourly", "agg_mcp_tools_daily", "time_spine_daily",
})
UNSCOPED_TABLES = frozenset({"dim_models", "time_spine_daily"})  # no org_id: shared reference data
ALLOWED_FUNCTIONS = frozenset({
    "Sum", "Count", "Avg", "Min", "Max", "Round", "Coalesce", "Nullif", "Abs", "Cast", "TryCast", "Lower", "Upper",
    "DateTrunc", "TimestampTrunc", "DateDiff", "DateAdd", "DateSub", "Extract", "CurrentDate", "CurrentTimestamp",
    "TimeToStr", "StrToDate", "Year", "Month", "Day", "Quarter", "Week", "DayOfWeek", "Greatest", "Least", "If",
    "Case", "Concat", "Substring", "Length", "Trim", "Median", "PercentileCont", "Quantile", "ApproxQuantile",
    "Stddev", "StddevSamp", "StddevPop", "Variance", "CountIf", "RowNumber", "Rank", "DenseRank", "Lag", "Lead",
    "FirstValue", "LastValue", "Ln", "Log", "Sqrt", "Pow", "Floor", "Ceil", "Sign", "Interval", "Div", "Mod",
    "SafeDivide", "ArgMax", "ArgMin", "Unnest", "ToDays",
})
ALLOWED_ANONYMOUS = frozenset({"date_part", "datepart", "epoch", "strftime", "make_date", "dayname", "monthname"})
MUTATING = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command, exp.Merge, exp.Into,
            exp.Copy, exp.Set, exp.Pragma, exp.Attach, exp.Detach, exp.Install, exp.Use, exp.Transaction,
            exp.Commit, exp.Rollback, exp.Describe, exp.Summarize, exp.LoadData, exp.TruncateTable)


class QueryRefused(ValueError):
    """The query is not allowed; the message says why, in words a user can act on."""


@dataclass(frozen=True)
class GuardedQuery:
    sql: str
    params: dict


def guard(sql: str, scope: TenantScope, *, row_limit: int = 1000, params: dict | None = None) -> GuardedQuery:
    """Validate `sql` and return the rewritten, tenant-scoped, limited query with its bound parameters."""
    params = dict(params or {})
    try:
        statements = [statement for statement in sqlglot.parse(sql, read="duckdb") if statement is not None]
    except sqlglot.errors.ParseError as error:
        raise QueryRefused(f"Refused: the SQL does not parse ({str(error).splitlines()[0][:200]}).") from None
    if len(statements) != 1:
        raise QueryRefused("Refused: exactly one statement is allowed (stacked statements are not).")
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.Union | exp.Intersect | exp.Except):
        raise QueryRefused(f"Refused: only SELECT queries are allowed, not {tree.key.upper()}.")
    for node in tree.walk():
        if isinstance(node, MUTATING):
            raise QueryRefused(f"Refused: {node.key.upper()} is not allowed; questions are read-only.")
        if isinstance(node, exp.Placeholder | exp.Parameter):
            name = node.name
            if name not in params:
                raise QueryRefused("Refused: the query uses a parameter that was not supplied.")
        if _is_disallowed_function(node):
            raise QueryRefused(f"Refused: function {node.sql_name()} is not allowed here.")
        if isinstance(node, exp.Anonymous) and node.name.lower() not in ALLOWED_ANONYMOUS:
            raise QueryRefused(f"Refused: function {node.name} is not allowed (no file, system or settings access).")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        _check_and_scope(table, ctes, scope)
    if scope.org_ids is not None:
        params["scope_org_ids"] = list(scope.org_ids)
    limited = _limit(tree, row_limit)
    return GuardedQuery(limited.sql(dialect="duckdb"), params)


def _is_disallowed_function(node: exp.Expression) -> bool:
    """Typed functions outside the allow-list (operators such as AND are functions to sqlglot, and allowed)."""
    if not isinstance(node, exp.Func) or isinstance(node, exp.Anonymous | exp.Connector | exp.Binary | exp.Unary):
        return False
    return type(node).__name__ not in ALLOWED_FUNCTIONS and not isinstance(node, exp.AggFunc | exp.Window)


def _check_and_scope(table: exp.Table, ctes: set[str], scope: TenantScope) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise QueryRefused("Refused: table functions and file reads are not allowed; query the marts tables.")
    name, schema = table.name.lower(), (table.db or "").lower()
    if table.catalog:
        raise QueryRefused("Refused: other databases or catalogs are not allowed.")
    if not schema and name in ctes:
        return
    if schema not in ("", "marts") or name not in MART_TABLES:
        where = f"{schema}.{name}" if schema else name
        raise QueryRefused(f"Refused: {where} is not one of the marts tables you may query "
                           f"({', '.join(sorted(MART_TABLES))}).")
    alias = table.alias_or_name
    if scope.org_ids is None or name in UNSCOPED_TABLES:
        table.set("db", exp.to_identifier("marts"))
        return
    scoped = sqlglot.parse_one(
        f"(select * from marts.{name} where org_id in (select unnest($scope_org_ids)))", read="duckdb")
    table.replace(exp.Subquery(this=scoped.this if isinstance(scoped, exp.Paren) else scoped,
                               alias=exp.TableAlias(this=exp.to_identifier(alias))))


def _limit(tree: exp.Expression, row_limit: int) -> exp.Expression:
    if isinstance(tree, exp.Select):
        current = tree.args.get("limit")
        value = current.expression if current is not None else None
        if value is None or not isinstance(value, exp.Literal) or int(value.name) > row_limit:
            tree = tree.limit(row_limit)
        return tree
    return exp.select("*").from_(exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("q")))).limit(
        row_limit)
