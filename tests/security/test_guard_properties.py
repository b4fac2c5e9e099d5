"""Property-based: random SQL from a small grammar (selects, joins, CTEs with shadowing names, subqueries, unions,
tables drawn from the marts, raw, system views and file paths) either is refused or comes out of the guard as a
query whose every table, resolved by sqlglot's scope analysis, is a mart, each org-scoped mart read through the
tenant filter. Arbitrary text never raises anything but `QueryRefused`."""

from __future__ import annotations

import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from aioa.ask.guard import MART_TABLES, UNSCOPED_TABLES, QueryRefused, guard
from aioa.warehouse.access import TenantScope

SCOPE = TenantScope.for_orgs("acme")
TABLES = [
    *sorted(MART_TABLES),
    "marts.fct_llm_calls",
    "marts.dim_models",
    "marts.agg_usage_daily",
    "raw.llm_calls",
    "raw.handoff_events",
    "raw.quarantine",
    "main.fct_llm_calls",
    "quality.check_results",
    "information_schema.tables",
    "pg_catalog.pg_tables",
    "sqlite_master",
    "duckdb_tables()",
    "duckdb_settings()",
    "read_csv('/etc/passwd')",
    "read_parquet('/tmp/*.parquet')",
    "glob('/etc/*')",
    "'/etc/passwd'",
    '"/etc/passwd"',
    "'data/*.csv'",
    "query_table('raw.llm_calls')",
    "pragma_table_info('x')",
]
CTE_NAMES = [
    "c1",
    "c2",
    "fct_llm_calls",
    "dim_orgs",
    "llm_calls",
    "tables",
    "raw",
    "marts",
    "duckdb_tables",
    '"/etc/passwd"',
    '"raw.llm_calls"',
]
COLUMNS = ["*", "org_id", "count(*) as n", "1 as one"]


def _sources(queries):
    """A table name, a CTE name, or a subquery in FROM."""
    return st.one_of(
        st.sampled_from(TABLES),
        st.sampled_from(CTE_NAMES),
        queries.map(lambda query: f"({query})"),
    )


def _select(queries):
    return st.builds(
        lambda column, source, alias, join, where: f"select {column} from {source} as {alias}{join}{where}",
        st.sampled_from(COLUMNS),
        _sources(queries),
        st.sampled_from(["t", "fct_llm_calls", "s1", "raw"]),
        st.one_of(st.just(""), st.builds(lambda source: f" join {source} as j on true", _sources(queries))),
        st.one_of(
            st.just(""),
            st.just(" where org_id = 'globex'"),
            queries.map(lambda query: f" where org_id in (select org_id from ({query}) as w)"),
        ),
    )


def _query(queries):
    body = st.one_of(
        _select(queries),
        st.builds(lambda left, right: f"{left} union all {right}", _select(queries), _select(queries)),
    )
    with_clause = st.lists(st.tuples(st.sampled_from(CTE_NAMES), queries), max_size=2).map(
        lambda ctes: "with " + ", ".join(f"{name} as ({query})" for name, query in ctes) + " " if ctes else ""
    )
    return st.builds(lambda prefix, query: prefix + query, with_clause, body)


SQL = st.recursive(
    st.builds(lambda column, table: f"select {column} from {table}", st.sampled_from(COLUMNS), st.sampled_from(TABLES)),
    _query,
    max_leaves=6,
)


def _is_cte_reference(table: exp.Table, scope: Scope) -> bool:
    source = scope.sources.get(table.alias_or_name)
    return not table.db and isinstance(source, Scope) and source.is_cte


def _is_tenant_filtered(table: exp.Table) -> bool:
    """`(select * from marts.<t> as a where list_contains($scope_org_ids, a.org_id))` and nothing else."""
    select = table.parent.parent if isinstance(table.parent, exp.From) else None
    if not isinstance(select, exp.Select) or not isinstance(select.parent, exp.Subquery):
        return False
    if select.args.get("joins") or select.args.get("laterals") or select.args.get("group"):
        return False
    where = select.args.get("where")
    if where is None:
        return False
    condition = where.this
    if not isinstance(condition, exp.ArrayContains):
        return False
    column = condition.expression
    return (
        isinstance(condition.this, exp.Placeholder | exp.Parameter)
        and "scope_org_ids" in condition.this.sql()
        and isinstance(column, exp.Column)
        and column.name == "org_id"
        and column.table == table.alias_or_name
    )


def assert_only_scoped_marts(sql: str) -> None:
    tree = sqlglot.parse_one(sql, read="duckdb")
    seen = 0
    for scope in traverse_scope(tree):
        for table in scope.tables:
            seen += 1
            if _is_cte_reference(table, scope):
                continue
            assert isinstance(table.this, exp.Identifier), sql
            assert table.db == "marts" and table.name in MART_TABLES and not table.catalog, sql
            if table.name not in UNSCOPED_TABLES:
                assert _is_tenant_filtered(table), f"{table.name} without the tenant filter in {sql}"
    assert seen == len(list(tree.find_all(exp.Table))), f"a table outside every scope in {sql}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SQL)
def test_random_sql_is_refused_or_reads_only_scoped_marts(sql):
    try:
        guarded = guard(sql, SCOPE)
    except QueryRefused as error:
        assert str(error).startswith("Refused:")
        return
    assert guarded.params in ({"scope_org_ids": ["acme"]}, {})  # only what the SQL binds ({} for the calendar)
    assert_only_scoped_marts(guarded.sql)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.builds(lambda a, b: a + b, SQL, st.text(max_size=40)))
def test_any_text_is_refused_or_scoped_never_raises_anything_else(text):
    try:
        guarded = guard(text, SCOPE)
    except QueryRefused:
        return
    assert_only_scoped_marts(guarded.sql)


def test_the_grammar_reaches_both_outcomes():
    """The property is not vacuous: the grammar yields accepted queries with shadowing CTEs, and refused ones."""
    accepted = guard(
        "with fct_llm_calls as (select * from fct_llm_calls) select * from fct_llm_calls as t "
        "join (select org_id from dim_orgs) as j on true",
        SCOPE,
    )
    assert_only_scoped_marts(accepted.sql)
    for sql in (
        "select * from (with c1 as (select 1) select * from c1) as t join c1 as j on true",
        'with "/etc/passwd" as (select 1) select * from "/etc/passwd" as t',
    ):
        try:
            guard(sql, SCOPE)
        except QueryRefused:
            continue
        raise AssertionError(f"accepted: {sql}")
