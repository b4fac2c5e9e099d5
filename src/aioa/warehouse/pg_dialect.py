"""The readers' SQL, written once in DuckDB's dialect, rewritten for PostgreSQL by sqlglot (server mode).

sqlglot transpiles most of it; the rewrites below cover what it leaves DuckDB-only or changes in meaning:
`group by all` (PostgreSQL 15 has none: the non-aggregate projections' positions), `list_contains` (a plain
`= any(...)`, which the planner prunes partitions with), `arg_min`, `time_bucket` (`date_bin` needs an origin),
`list(struct_pack(...))` (a JSON array of objects), `date_diff('week', ...)` (whole weeks, truncated), the schema
prefix of a shared server, and `information_schema` seen without that prefix. Parameters stay bound: `$name`
becomes `%(name)s` and `?` becomes `%s` for psycopg2; the text never carries a value.
"""

from __future__ import annotations

import functools
import re

import sqlglot
from sqlglot import exp

WAREHOUSE_SCHEMAS = frozenset({"raw", "staging", "intermediate", "marts", "quality", "ml", "serving"})
_NAMED = "aioaparam"
_POSITIONAL = "aioapositional"
_TOKEN = re.compile(rf"\b{_NAMED}_(\w+?)_end\b|\b{_POSITIONAL}\b")
BUCKET_ORIGIN = "2000-01-03 00:00:00"  # DuckDB's time_bucket origin (a Monday); any quarter hour gives the same buckets


class NotTranslatable(ValueError):
    """The statement uses a DuckDB construct server mode has no PostgreSQL form for."""


@functools.lru_cache(maxsize=1024)
def to_postgres(sql: str, schema_prefix: str = "") -> str:
    """One DuckDB statement as psycopg2-ready PostgreSQL text (same parameters, by name or position)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as error:
        raise NotTranslatable(f"cannot read the statement: {error}") from None
    tree = tree.transform(_rewrite_function)
    for select in tree.find_all(exp.Select):
        _expand_group_by_all(select)
    tree = tree.transform(functools.partial(_rewrite_name, schema_prefix=schema_prefix))
    text = tree.sql(dialect="postgres")
    text = text.replace("%", "%%")  # psycopg2 reads a lone % as a placeholder
    return _TOKEN.sub(lambda match: f"%({match.group(1)})s" if match.group(1) else "%s", text)


def _rewrite_name(node: exp.Expression, *, schema_prefix: str) -> exp.Expression:
    if isinstance(node, exp.Placeholder):
        return exp.var(f"{_NAMED}_{node.this}_end" if node.this else _POSITIONAL)
    if isinstance(node, exp.Table):
        return _table(node, schema_prefix)
    return node


def _rewrite_function(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.ArrayContains):  # list_contains(list, value)
        return exp.EQ(this=node.expression, expression=exp.Any(this=exp.paren(node.this, copy=False)))
    if isinstance(node, exp.ArgMin | exp.ArgMax):
        order = exp.Ordered(this=node.expression, desc=isinstance(node, exp.ArgMax), nulls_first=False)
        aggregated = exp.ArrayAgg(this=exp.Order(this=node.this, expressions=[order]))
        return exp.Bracket(this=exp.paren(aggregated, copy=False), expressions=[exp.Literal.number(1)], offset=1)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "time_bucket":
        width, value = node.expressions
        return exp.func("date_bin", width, value, exp.cast(exp.Literal.string(BUCKET_ORIGIN), "timestamp"))
    if isinstance(node, exp.DateBin) and len(node.expressions) < 2:  # sqlglot's own time_bucket rewrite
        return exp.func(
            "date_bin", node.this, node.expression, exp.cast(exp.Literal.string(BUCKET_ORIGIN), "timestamp")
        )
    if isinstance(node, exp.ArrayAgg) and _struct_of(node) is not None:
        return _json_agg(node)
    if isinstance(node, exp.DateDiff) and node.unit and node.unit.name.lower() in {"week", "weeks"}:
        days = exp.Sub(this=exp.cast(node.this, "date"), expression=exp.cast(node.expression, "date"))
        return exp.Div(this=exp.paren(days, copy=False), expression=exp.Literal.number(7), typed=True)  # whole weeks
    return node


def _table(table: exp.Table, schema_prefix: str) -> exp.Expression:
    schema = table.db
    if schema == "information_schema" and schema_prefix:
        return _unprefixed_catalog(table, schema_prefix)
    if schema in WAREHOUSE_SCHEMAS and schema_prefix:
        table.set("db", exp.to_identifier(schema_prefix + schema))
    return table


_CATALOG_COLUMNS = {
    "tables": ("table_catalog", "table_name", "table_type"),
    "columns": ("table_name", "column_name", "data_type", "ordinal_position", "is_nullable"),
}


def _unprefixed_catalog(table: exp.Table, schema_prefix: str) -> exp.Expression:
    """`information_schema.<view>` as the reader expects it: only this deployment's schemas, named unprefixed."""
    catalog = exp.Table(this=exp.to_identifier(table.name), db=exp.to_identifier("information_schema"))
    unprefixed = exp.func("substr", exp.column("table_schema"), exp.Literal.number(len(schema_prefix) + 1))
    columns = _CATALOG_COLUMNS.get(table.name.lower())
    if columns is None:
        raise NotTranslatable(f"information_schema.{table.name} is not readable in server mode")
    view = (
        exp.select(exp.alias_(unprefixed, "table_schema"), *columns)
        .from_(catalog)
        .where(exp.func("starts_with", exp.column("table_schema"), exp.Literal.string(schema_prefix)))
    )
    alias = table.alias or table.name
    return exp.Subquery(this=view, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _struct_of(node: exp.ArrayAgg) -> exp.Struct | None:
    inner = node.this.this if isinstance(node.this, exp.Order) else node.this
    return inner if isinstance(inner, exp.Struct) else None


def _json_agg(node: exp.ArrayAgg) -> exp.Expression:
    struct = _struct_of(node)
    pairs = []
    for field in struct.expressions:
        name = field.alias_or_name if not isinstance(field, exp.PropertyEQ) else field.this.name
        value = field.expression if isinstance(field, exp.PropertyEQ) else field.unalias()
        pairs += [exp.Literal.string(name), value]
    built = exp.func("json_build_object", *pairs)
    if isinstance(node.this, exp.Order):
        built = exp.Order(this=built, expressions=node.this.expressions)
    return exp.func("json_agg", built)


def _expand_group_by_all(select: exp.Select) -> None:
    """`group by all` → the positions of the projections that hold no aggregate (PostgreSQL 15 has no `all`)."""
    group = select.args.get("group")
    if not group or not group.args.get("all"):
        return
    positions = [
        exp.Literal.number(index)
        for index, projection in enumerate(select.expressions, start=1)
        if not projection.find(exp.AggFunc) or _only_windowed(projection)
    ]
    if not positions:
        select.set("group", None)
        return
    select.set("group", exp.Group(expressions=positions))


def _only_windowed(projection: exp.Expression) -> bool:
    """Aggregates used only as window functions do not make a projection an aggregate."""
    return all(isinstance(aggregate.parent, exp.Window) for aggregate in projection.find_all(exp.AggFunc))
