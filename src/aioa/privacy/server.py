"""Server mode's side of a privacy request: the person's rows in PostgreSQL, read, and made to agree with the working
warehouse after a deletion.

In server mode (`warehouse = "postgres"`) a person's rows live in two places: the working DuckDB file (the raw
tables as ingested, the quarantine, the ingest manifest) and PostgreSQL (`<prefix>raw.*` copied from it, the marts
dbt builds there, the ML tables). The privacy queries are written once, in DuckDB's dialect, against a connection's
`execute` and `register` (aioa.privacy.export, aioa.privacy.delete); `ServerConnection` offers those calls over one
PostgreSQL transaction, so the same text (rewritten by `pg_dialect.to_postgres`, the person's values bound) selects
the same rows there.

A deletion pseudonymises the working warehouse as in DuckDB mode; `make_server_agree` then replaces, in one
PostgreSQL transaction, their orgs' raw rows on the server with the working warehouse's (COPY) and pseudonymises the
ML tables there, comparing the org totals before it commits; the caller rebuilds the marts with the pipeline and
`vacuum_full` rewrites the tables it touched, so replaced values do not stay behind in dead rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import pyarrow as pa

from aioa.privacy.export import _existing_tables, _selections, bound, ml_tables_with_users, registered_pairs
from aioa.privacy.subjects import Subject, pseudonym
from aioa.settings import Settings
from aioa.warehouse.pg_dialect import to_postgres


class ServerConnection:
    """The calls the privacy queries make on a DuckDB connection (`execute`, `register`, `unregister`,
    `filesystem_is_registered`) over one psycopg2 connection: statements rewritten by `to_postgres` with their
    parameters bound, a registered Arrow table as a temporary table of the transaction."""

    def __init__(self, connection, schema_prefix: str) -> None:
        self.connection = connection
        self.schema_prefix = schema_prefix

    def execute(self, sql: str, parameters: object = None):
        from aioa.warehouse.pg_reader import _bound

        cursor = self.connection.cursor()
        cursor.execute(to_postgres(sql, self.schema_prefix), _bound(parameters))
        return cursor

    def register(self, name: str, table: pa.Table) -> None:
        """`table` (text columns only) as the temporary table `name`, its values bound."""
        from psycopg2 import sql

        if not all(pa.types.is_string(column.type) for column in table.schema):
            raise TypeError(f"{name}: only text columns can be registered on the server")
        columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(column)) for column in table.column_names)
        values = sql.SQL(", ").join(sql.Placeholder() * table.num_columns)
        with self.connection.cursor() as cursor:
            cursor.execute(sql.SQL("create temp table {} ({}) on commit drop").format(sql.Identifier(name), columns))
            cursor.executemany(
                sql.SQL("insert into {} values ({})").format(sql.Identifier(name), values),
                list(zip(*(column.to_pylist() for column in table.columns), strict=True)),
            )

    def unregister(self, name: str) -> None:
        from psycopg2 import sql
        from psycopg2.extensions import TRANSACTION_STATUS_INERROR

        if self.connection.info.transaction_status == TRANSACTION_STATUS_INERROR:
            return  # the failed transaction is rolled back with its temporary tables: keep the first error
        with self.connection.cursor() as cursor:
            cursor.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(name)))

    def filesystem_is_registered(self, protocol: str) -> bool:
        return False  # server mode has no Parquet archive (aioa.archive works on the DuckDB warehouse)


@contextlib.contextmanager
def server_transaction(settings: Settings, *, commit: bool = False) -> Iterator[ServerConnection]:
    """One transaction on the server, committed at the end only with `commit` (else rolled back: a reader's
    temporary tables go with it). JSON columns come as their text, as DuckDB gives them (the export's shape)."""
    from psycopg2.extras import register_default_json, register_default_jsonb

    from aioa.warehouse.postgres import pg_connect

    connection = pg_connect(settings)
    for register in (register_default_json, register_default_jsonb):
        register(connection, loads=lambda text: text)
    try:
        yield ServerConnection(connection, settings.postgres_schema_prefix)
        if commit:
            connection.commit()
    finally:
        connection.close()  # uncommitted work is rolled back


@contextlib.contextmanager
def server_reader(settings: Settings) -> Iterator[ServerConnection | None]:
    """The server's warehouse for the privacy queries, or None before the pipeline first copied raw rows there."""
    with server_transaction(settings) as server:
        yield server if "raw.users" in _existing_tables(server) else None


def server_holds(settings: Settings, subject: Subject) -> bool:
    """Whether any server table still has a row of theirs (as export selects them), or a mart of their orgs a
    session or project id that names them: a deletion whose server part did not finish is finished by the next."""
    from aioa.privacy.delete import _marts_hold

    params = {"pattern": subject.pattern(), "email": subject.email}
    with server_reader(settings) as server:
        if server is None or not subject.pairs:
            return False
        with registered_pairs(server, subject):
            for name, where in _selections(server, _existing_tables(server)).items():
                # table names from the contracts, MART_TABLES and ML_TABLES; the person's values are bound
                sql = f"select exists (select 1 from {name} as t where {where})"
                if server.execute(sql, bound(sql, params)).fetchone()[0]:
                    return True
        return _marts_hold(server, subject)


def make_server_agree(
    settings: Settings, source: duckdb.DuckDBPyConnection, subject: Subject
) -> tuple[dict[str, int], dict[str, int]]:
    """One server transaction, after the working warehouse (`source`) was pseudonymised: their orgs' raw rows there
    become the working warehouse's, the small raw tables are copied whole (aioa.warehouse.postgres.replace_org_rows),
    and the ML tables with user ids are pseudonymised with the statement DuckDB mode uses. The org totals of the
    server's raw facts must come out equal, or nothing is written. Returns (their ML rows changed per table, raw rows
    written per server table)."""
    from aioa.privacy.delete import PrivacyError, org_totals, pseudonymise_statements
    from aioa.warehouse.postgres import raw_schema, replace_org_rows

    pseudonyms = {org_id: pseudonym(settings, org_id, subject.email) for org_id, _ in subject.pairs}
    with server_transaction(settings, commit=True) as server:
        before = org_totals(server)
        with server.connection.cursor() as cursor:
            written = replace_org_rows(source, cursor, raw_schema(settings), subject.orgs)
        ml_tables = ml_tables_with_users(server)
        statements = pseudonymise_statements(ml_tables)
        rows = {}
        with registered_pairs(server, subject, pseudonyms):
            for table in ml_tables:
                rows[table] = server.execute(statements[table]).rowcount
        after = org_totals(server)
        if before != after:
            raise PrivacyError(
                f"the server's org totals would change ({before} -> {after}); nothing was written there "
                "(the working warehouse and PostgreSQL disagree: run the pipeline, then delete again)"
            )
    return rows, {f"raw.{table}": count for table, count in written.items()}


# Calls, tokens and cost per org in the marts people read. The marts' costs are doubles: each is summed as an exact
# decimal, so a rebuild that adds the same rows in another order gives the same total.
_MART_TOTALS = """
select 'fct_llm_calls', org_id, count(*),
       sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens),
       sum(cast(cost_usd as decimal(38, 10)))
from marts.fct_llm_calls group by org_id
union all
select 'agg_usage_daily', org_id, sum(calls), sum(input_tokens + output_tokens),
       sum(cast(cost_usd as decimal(38, 10)))
from marts.agg_usage_daily group by org_id
union all
select 'fct_handoffs', org_id, count(*), sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)),
       sum(cast(cost_usd as decimal(38, 10)))
from marts.fct_handoffs group by org_id
order by 1, 2
"""


def mart_totals(settings: Settings) -> list[tuple] | None:
    """Calls, tokens and cost per org in the server's marts (None before they are built): a deletion's rebuild must
    give them back exactly."""
    with server_reader(settings) as server:
        if server is None or "marts.agg_usage_daily" not in _existing_tables(server):
            return None
        return [tuple(row) for row in server.execute(_MART_TOTALS).fetchall()]


def vacuum_full(settings: Settings, tables: list[str]) -> list[str]:
    """`VACUUM (FULL, ANALYZE)` each `schema.table` the deletion rewrote (a partitioned table with all its
    partitions): an update or delete leaves the old row versions in the table's files until a vacuum, and only a
    full one writes the table anew; ANALYZE replaces the column statistics, whose most common values may be their
    user id. The marts need neither: the full refresh replaces each of them by a new table. Returns the server's
    names of the tables vacuumed."""
    from psycopg2 import sql

    from aioa.warehouse.postgres import pg_connect

    done = []
    connection = pg_connect(settings)
    try:
        connection.autocommit = True  # VACUUM runs outside a transaction
        with connection.cursor() as cursor:
            for name in tables:
                schema, table = name.split(".")
                target = sql.Identifier(settings.postgres_schema_prefix + schema, table)
                cursor.execute(sql.SQL("vacuum (full, analyze) {}").format(target))
                done.append(f"{settings.postgres_schema_prefix}{name}")
    finally:
        connection.close()
    return done
