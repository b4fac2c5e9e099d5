"""The SQL guard: one read-only SELECT over the marts, allow-listed functions, the caller's tenant filter applied
to every relation that carries `org_id` (and, for a scope narrowed to a team's or a user's rows, their
`team_id`/`user_id`), and a row limit. Anything else is refused with the reason.

Table names are resolved the way the database resolves them: by scope (sqlglot's scope analysis). A name that
refers to a CTE visible in its scope is that CTE; every other table must be one of the marts, and is replaced by a
subquery that reads the mart through the tenant filter. A table the scope analysis did not account for is refused,
so a construct the guard does not understand fails closed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import TokenType

from aioa.warehouse.access import TenantScope
from aioa.warehouse.relations import RELATION_COLUMNS, row_columns, tenant_filter

MART_TABLES = frozenset(
    {
        "fct_llm_calls",
        "fct_tool_calls",
        "fct_handoffs",
        "fct_sessions",
        "dim_orgs",
        "dim_teams",
        "dim_users",
        "dim_projects",
        "dim_models",
        "agg_usage_daily",
        "agg_usage_hourly",
        "agg_mcp_tools_daily",
        "agg_mcp_tool_usage_daily",
        "mcp_tool_recommendations",
        "agg_tool_usage_daily",
        "fct_session_sequences",
        "agg_project_lifecycle_weekly",
        "fct_commit_costs",
        "agg_issue_costs",
        "agg_pull_request_costs",
        "time_spine_daily",
    }
)
# Marts without org_id (the calendar): no tenant data, read as they are by every scope.
UNSCOPED_TABLES = frozenset(
    name for name in MART_TABLES if "org_id" not in RELATION_COLUMNS.get(f"marts.{name}", {"org_id"})
)
ALLOWED_FUNCTIONS = frozenset(
    {
        "Sum",
        "Count",
        "Avg",
        "Min",
        "Max",
        "Round",
        "Coalesce",
        "Nullif",
        "Abs",
        "Cast",
        "TryCast",
        "Lower",
        "Upper",
        "DateTrunc",
        "TimestampTrunc",
        "DateDiff",
        "DateAdd",
        "DateSub",
        "Extract",
        "CurrentDate",
        "CurrentTimestamp",
        "TimeToStr",
        "StrToDate",
        "Year",
        "Month",
        "Day",
        "Quarter",
        "Week",
        "DayOfWeek",
        "Greatest",
        "Least",
        "If",
        "Case",
        "Concat",
        "Substring",
        "Length",
        "Trim",
        "Median",
        "PercentileCont",
        "Quantile",
        "ApproxQuantile",
        "Stddev",
        "StddevSamp",
        "StddevPop",
        "Variance",
        "CountIf",
        "RowNumber",
        "Rank",
        "DenseRank",
        "Lag",
        "Lead",
        "FirstValue",
        "LastValue",
        "Ln",
        "Log",
        "Sqrt",
        "Pow",
        "Floor",
        "Ceil",
        "Sign",
        "Interval",
        "Div",
        "Mod",
        "SafeDivide",
        "ArgMax",
        "ArgMin",
        "Unnest",
        "ToDays",
        "Exists",
        "Array",
    }
)
ALLOWED_ANONYMOUS = frozenset({"date_part", "datepart", "epoch", "strftime", "make_date", "dayname", "monthname"})
QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except)
MUTATING = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.Merge,
    exp.Into,
    exp.Copy,
    exp.Set,
    exp.Pragma,
    exp.Attach,
    exp.Detach,
    exp.Install,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Describe,
    exp.Summarize,
    exp.LoadData,
    exp.TruncateTable,
)
TABLE_ARGS = frozenset({"this", "db", "catalog", "alias"})  # anything else on a table (AT, pivots, …) is refused
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SQL_CHARS = 20_000
MAX_TOKENS = 4_000
MAX_PAREN_DEPTH = 32
MAX_TREE_DEPTH = 200
SCOPED_ALIAS = "tenant_scoped"
ALLOWED_CONTROL = frozenset("\t\n\r")


class QueryRefused(ValueError):
    """The query is not allowed; the message says why, in words a user can act on."""


@dataclass(frozen=True)
class GuardedQuery:
    sql: str
    params: dict


def guard(sql: str, scope: TenantScope, *, row_limit: int = 1000, params: dict | None = None) -> GuardedQuery:
    """Validate `sql` and return the rewritten, tenant-scoped, limited query with its bound parameters."""
    try:
        return _guard(sql, scope, row_limit, dict(params or {}))
    except RecursionError:
        raise QueryRefused("Refused: the query is nested too deeply to check.") from None
    except sqlglot.errors.SqlglotError as error:
        raise QueryRefused(f"Refused: the SQL could not be checked ({_first_line(error)}).") from None


def _guard(sql: str, scope: TenantScope, row_limit: int, params: dict) -> GuardedQuery:
    _check_text(sql)
    try:
        statements = [statement for statement in sqlglot.parse(sql, read="duckdb") if statement is not None]
    except sqlglot.errors.ParseError as error:
        raise QueryRefused(f"Refused: the SQL does not parse ({_first_line(error)}).") from None
    if len(statements) != 1:
        raise QueryRefused("Refused: exactly one statement is allowed (stacked statements are not).")
    tree = statements[0]
    if not isinstance(tree, QUERY_TYPES):
        raise QueryRefused(f"Refused: only SELECT queries are allowed, not {tree.key.upper()}.")
    _check_depth(tree)
    for node in tree.walk():
        _check_node(node, params)
    params |= _scope_tables(tree, scope)
    limited = _limit(tree, row_limit)
    return GuardedQuery(limited.sql(dialect="duckdb", comments=False), params)


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]


def _check_text(sql: str) -> None:
    """Size, invisible characters and look-alikes, before the parser sees the text."""
    if not sql.strip():
        raise QueryRefused("Refused: the query is empty.")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"Refused: the query is longer than {MAX_SQL_CHARS:,} characters.")
    for character in sql:
        if unicodedata.category(character) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") and character not in ALLOWED_CONTROL:
            raise QueryRefused(
                f"Refused: the query contains an invisible or control character (U+{ord(character):04X})."
            )
    try:
        tokens = Dialect.get_or_raise("duckdb").tokenize(sql)
    except sqlglot.errors.TokenError as error:
        raise QueryRefused(f"Refused: the SQL does not parse ({_first_line(error)}; an unterminated quote?).") from None
    if len(tokens) > MAX_TOKENS:
        raise QueryRefused(f"Refused: the query is too long ({len(tokens):,} tokens; at most {MAX_TOKENS:,}).")
    depth = 0
    for token in tokens:
        if token.token_type in (TokenType.STRING, TokenType.NATIONAL_STRING):
            continue  # text inside string literals is data
        if not token.text.isascii():
            raise QueryRefused(
                f"Refused: {token.text[:40]!r} contains non-ASCII characters; write SQL keywords, "
                "names and punctuation in plain ASCII."
            )
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
            depth += 1
            if depth > MAX_PAREN_DEPTH:
                raise QueryRefused(f"Refused: the query is nested more than {MAX_PAREN_DEPTH} levels deep.")
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
            depth -= 1


def _check_depth(tree: exp.Expression) -> None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise QueryRefused(f"Refused: the query is nested more than {MAX_TREE_DEPTH} levels deep.")
        stack.extend((child, depth + 1) for child in node.iter_expressions())


def _check_node(node: exp.Expression, params: dict) -> None:
    if isinstance(node, MUTATING):
        raise QueryRefused(f"Refused: {node.key.upper()} is not allowed; questions are read-only.")
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise QueryRefused("Refused: recursive CTEs (WITH RECURSIVE) are not allowed.")
    if isinstance(node, exp.CTE) and not PLAIN_NAME.fullmatch(node.alias_or_name):
        raise QueryRefused(f"Refused: CTE name {node.alias_or_name!r} is not a plain name (letters, digits, _).")
    if isinstance(node, exp.Limit | exp.Offset) and not _whole_number(node.expression):
        raise QueryRefused(
            f"Refused: {node.key.upper()} must be a whole number, not {node.expression.sql(dialect='duckdb')[:40]}."
        )
    if isinstance(node, exp.Fetch) and node.args.get("count") is not None and not _whole_number(node.args["count"]):
        raise QueryRefused("Refused: FETCH must be a whole number.")
    if isinstance(node, exp.Lambda):
        raise QueryRefused("Refused: lambda functions are not allowed here.")
    if isinstance(node, exp.Placeholder | exp.Parameter) and node.name not in params:
        raise QueryRefused("Refused: the query uses a parameter that was not supplied.")
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc) and node.name.lower() not in ALLOWED_ANONYMOUS:
        raise QueryRefused(f"Refused: function {node.name} is not allowed (no file, system or settings access).")
    if _is_disallowed_function(node):
        raise QueryRefused(f"Refused: function {node.sql_name()} is not allowed here.")


def _whole_number(value: exp.Expression | None) -> bool:
    """A non-negative integer literal (a negative one is clamped at the top, refused by DuckDB elsewhere)."""
    if isinstance(value, exp.Neg):
        value = value.this
    return isinstance(value, exp.Literal) and not value.is_string and value.name.isdigit()


def _is_disallowed_function(node: exp.Expression) -> bool:
    """Typed functions outside the allow-list (operators such as AND are functions to sqlglot, and allowed)."""
    if not isinstance(node, exp.Func) or isinstance(
        node, exp.Anonymous | exp.AnonymousAggFunc | exp.Connector | exp.Binary | exp.Unary
    ):
        return False
    return type(node).__name__ not in ALLOWED_FUNCTIONS and not isinstance(node, exp.AggFunc | exp.Window)


def _scope_tables(tree: exp.Expression, scope: TenantScope) -> dict:
    """Resolve every table by scope: CTE references stay, marts are wrapped in the tenant filter, rest refused.
    Returns the tenant filters' bound parameters."""
    marts: list[exp.Table] = []
    accounted: set[int] = set()
    for query_scope in traverse_scope(tree):
        for table in query_scope.tables:
            if id(table) in accounted:
                continue
            accounted.add(id(table))
            if _is_cte_reference(table, query_scope):
                continue
            _check_mart(table)
            marts.append(table)
    for table in tree.find_all(exp.Table):
        if id(table) not in accounted:
            raise QueryRefused(
                f"Refused: the table reference {table.sql(dialect='duckdb')[:80]} is in a place "
                "the guard cannot check; query the marts tables in FROM and JOIN."
            )
    params: dict = {}
    for table in marts:
        params |= _replace_with_scoped(table, scope)
    return params


def _is_cte_reference(table: exp.Table, query_scope: Scope) -> bool:
    """True when `table` names a CTE visible in its own scope (a bare name the database binds to the CTE)."""
    if table.args.get("db") or table.args.get("catalog") or not isinstance(table.this, exp.Identifier):
        return False
    source = query_scope.sources.get(table.alias_or_name)
    if not isinstance(source, Scope) or not source.is_cte:
        return False
    cte = source.expression.parent
    return isinstance(cte, exp.CTE) and cte.alias_or_name == table.name


def _check_mart(table: exp.Table) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise QueryRefused("Refused: table functions and file reads are not allowed; query the marts tables.")
    if table.args.get("catalog"):
        raise QueryRefused("Refused: other databases or catalogs are not allowed.")
    name, schema = table.name, table.db or ""
    where = f"{schema}.{name}" if schema else name
    if not PLAIN_NAME.fullmatch(name) or (schema and not PLAIN_NAME.fullmatch(schema)):
        raise QueryRefused(
            f"Refused: {where!r} is not one of the marts tables you may query (no file paths, globs or quoted names)."
        )
    if schema.lower() not in ("", "marts") or name.lower() not in MART_TABLES:
        raise QueryRefused(
            f"Refused: {where} is not one of the marts tables you may query ({', '.join(sorted(MART_TABLES))})."
        )
    extras = sorted(key for key, value in table.args.items() if value and key not in TABLE_ARGS)
    if extras:
        raise QueryRefused(f"Refused: table modifiers ({', '.join(extras)}) are not allowed on {name}.")
    alias = table.args.get("alias")
    if alias is not None and not PLAIN_NAME.fullmatch(alias.name or "x"):
        raise QueryRefused(f"Refused: alias {alias.name!r} is not a plain name (letters, digits, _).")


def _replace_with_scoped(table: exp.Table, scope: TenantScope) -> dict:
    """`marts.<name>` for operators; for a tenant, a subquery that reads the mart through the tenant filter (its
    orgs, and a narrowed scope's team/user rows). A narrowed scope may not read a mart without `team_id`/`user_id`
    (org-level dimensions, the MCP aggregate): refused, never widened to the org. The filter's columns are
    qualified so a mart without them fails instead of binding to an outer query's. Returns the bound parameters."""
    name = table.name.lower()
    relation = f"marts.{name}"
    mart = exp.Table(this=exp.to_identifier(name), db=exp.to_identifier("marts"))
    if relation not in RELATION_COLUMNS:
        raise QueryRefused(f"Refused: {name} has no tenant columns on record; it cannot be read through a scope.")
    if name in UNSCOPED_TABLES or (scope.org_ids is None and not scope.rows_narrowed):
        table.set("this", mart.this)
        table.set("db", mart.args["db"])
        return {}
    if scope.rows_narrowed and not row_columns(relation):
        readable = sorted(
            mart_name for mart_name in MART_TABLES if row_columns(f"marts.{mart_name}") or mart_name in UNSCOPED_TABLES
        )
        raise QueryRefused(
            f"Refused: {name} has no team or user column, and you may read only your team's and your own rows; "
            f"query {', '.join(readable)} instead."
        )
    filter_sql, params = tenant_filter(scope, relation, prefix=f"{SCOPED_ALIAS}.")
    scoped = exp.select("*").from_(mart.as_(SCOPED_ALIAS)).where(sqlglot.parse_one(filter_sql, read="duckdb"))
    alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
    table.replace(exp.Subquery(this=scoped, alias=alias.copy()))
    return params


def _limit(tree: exp.Expression, row_limit: int) -> exp.Expression:
    """Keep a literal LIMIT between 0 and `row_limit`; replace anything else (too big, negative, a string, an
    expression, a percentage, FETCH) with `row_limit`."""
    if isinstance(tree, exp.Select):
        current = tree.args.get("limit")
        if not _small_literal_limit(current, row_limit):
            tree.set("limit", exp.Limit(expression=exp.Literal.number(row_limit)))
        return tree
    return (
        exp.select("*")
        .from_(exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("q"))))
        .limit(row_limit)
    )


def _small_literal_limit(limit: exp.Expression | None, row_limit: int) -> bool:
    if not isinstance(limit, exp.Limit) or limit.args.get("limit_options") or limit.args.get("offset"):
        return False
    value = limit.expression
    return (
        isinstance(value, exp.Literal) and not value.is_string and value.name.isdigit() and int(value.name) <= row_limit
    )
