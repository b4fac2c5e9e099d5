"""PostgreSQL server mode: the raw tables are copied from the working DuckDB with COPY, then dbt builds the marts there.

Ingestion stays in DuckDB (one reader implementation, set-based parsing); what a shared deployment needs is the
warehouse itself on PostgreSQL, where readers never block (MVCC) and dbt swaps each rebuilt table atomically.
Only rows of ingest runs PostgreSQL has not seen are copied; updated rows (a later, more complete snapshot of a
call) replace theirs by key.

The fact tables are partitioned by month of `ts_utc` (declarative range partitions, created for the months a sync
brings) with a BRIN index on `ts_utc`: a date-bounded read touches only its months, and the index stays tiny on
rows that arrive in time order. Tables created before partitioning stay as they are (re-sync into a new
`postgres_schema_prefix` to partition them).
"""

from __future__ import annotations

import io
from contextlib import closing
from datetime import date

import duckdb

from aioa.contracts import ENTITY_CONTRACTS, FACT_CONTRACTS, LINK_CONTRACTS, Contract
from aioa.settings import Settings
from aioa.warehouse.encryption import open_database

_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
    "JSON": "jsonb",
}
_BOOKKEEPING = {
    "ingest_runs": (
        "ingest_run_id text primary key, source_system text, started_at timestamp, finished_at timestamp, "
        "status text, files_seen bigint, files_read bigint, bytes_read bigint, lines_read bigint, "
        "rows_added bigint, rows_updated bigint, duplicates_skipped bigint, quarantined bigint, "
        "flagged bigint, unpriced bigint, message text"
    ),
    "model_prices": (
        "provider text, model text, matched_model text, input_mtok double precision, "
        "output_mtok double precision, cache_read_mtok double precision, "
        "cache_write_5m_mtok double precision, cache_write_1h_mtok double precision, has_tiers boolean, "
        "time_dependent boolean, price_source text, price_version text, priced boolean"
    ),
    "quarantine": (
        "ingest_run_id text, source_system text, source_file text, source_line bigint, severity text, "
        "reason text, raw_excerpt text, detected_at timestamp, org_id text"
    ),
}


def pg_connect(settings: Settings):
    import psycopg2

    return psycopg2.connect(settings.postgres_dsn)


def raw_schema(settings: Settings) -> str:
    return f"{settings.postgres_schema_prefix}raw"


def _pg_type(sql_type: str) -> str:
    return "numeric" + sql_type[7:] if sql_type.startswith("DECIMAL") else _TYPES[sql_type]


PARTITION_COLUMN = "ts_utc"  # every fact contract's event time


def _table_ddl(schema: str, contract: Contract, *, partitioned: bool = False) -> str:
    columns = ", ".join(f"{c.name} {_pg_type(c.sql_type)}{'' if c.nullable else ' not null'}" for c in contract.columns)
    if not partitioned:
        return (
            f"create table if not exists {schema}.{contract.table} ({columns}, primary key ({', '.join(contract.key)}))"
        )
    key = ", ".join((*contract.key, PARTITION_COLUMN))  # a partitioned table's keys include the partition column
    return (
        f"create table if not exists {schema}.{contract.table} ({columns}, primary key ({key})) "
        f"partition by range ({PARTITION_COLUMN})"
    )


def ensure_pg_schema(cursor, schema: str) -> None:
    cursor.execute(f"create schema if not exists {schema}")
    for contract in FACT_CONTRACTS:
        cursor.execute(_table_ddl(schema, contract, partitioned=True))
        cursor.execute(
            f"create index if not exists {contract.table}_{PARTITION_COLUMN}_brin "
            f"on {schema}.{contract.table} using brin ({PARTITION_COLUMN})"
        )
    for contract in (*ENTITY_CONTRACTS, *LINK_CONTRACTS):
        cursor.execute(_table_ddl(schema, contract))
    for table, columns in _BOOKKEEPING.items():
        cursor.execute(f"create table if not exists {schema}.{table} ({columns})")
    cursor.execute(f"alter table {schema}.quarantine add column if not exists org_id text")  # created before it
    cursor.execute(f"create table if not exists {schema}.synced_runs (ingest_run_id text primary key)")


def sync_raw_to_postgres(settings: Settings) -> dict[str, int]:
    """Copy new and updated raw rows from the working DuckDB to PostgreSQL in one transaction. Returns rows copied."""
    schema = raw_schema(settings)
    copied: dict[str, int] = {}
    with (
        closing(open_database(settings.warehouse_path, settings, read_only=True)) as source,
        closing(pg_connect(settings)) as target,
        target,
        target.cursor() as cursor,
    ):  # one transaction
        ensure_pg_schema(cursor, schema)
        cursor.execute(f"select ingest_run_id from {schema}.synced_runs")
        synced = [row[0] for row in cursor.fetchall()]
        source.execute("create temp table synced_runs (ingest_run_id varchar)")
        if synced:
            source.executemany("insert into synced_runs values (?)", [(run,) for run in synced])
        for contract in FACT_CONTRACTS:
            where = "ingest_run_id not in (select ingest_run_id from synced_runs)"
            copied[contract.table] = _upsert(source, cursor, schema, contract, where)
        copied |= _replace_small_tables(source, cursor, schema)
        cursor.execute(
            f"insert into {schema}.synced_runs select ingest_run_id from {schema}.ingest_runs on conflict do nothing"
        )
    return copied


def replace_org_rows(source: duckdb.DuckDBPyConnection, cursor, schema: str, orgs: list[str]) -> dict[str, int]:
    """In the caller's transaction: the server's fact rows of `orgs` become the working warehouse's rows of those orgs
    (every row of them, whatever its ingest run: a privacy deletion rewrote them in place), and the entity, link and
    bookkeeping tables are replaced whole as every sync does. Returns the rows written per table."""
    copied: dict[str, int] = {}
    for contract in FACT_CONTRACTS:
        columns = contract.column_names
        staging = f"incoming_{contract.table}"
        cursor.execute(
            f"create temp table {staging} (like {schema}.{contract.table} including defaults) on commit drop"
        )
        sql = f"select {', '.join(columns)} from raw.{contract.table} where list_contains($orgs, org_id)"
        _copy_query(source, cursor, sql, staging, columns, {"orgs": orgs})
        _ensure_month_partitions(cursor, schema, contract.table, staging)
        # by org, not by key: the keys are text a deletion may have rewritten too
        cursor.execute(f"delete from {schema}.{contract.table} where org_id = any(%s)", (orgs,))
        cursor.execute(f"insert into {schema}.{contract.table} select * from {staging}")
        copied[contract.table] = cursor.rowcount
        cursor.execute(f"drop table {staging}")
    return copied | _replace_small_tables(source, cursor, schema)


def _replace_small_tables(source: duckdb.DuckDBPyConnection, cursor, schema: str) -> dict[str, int]:
    """The entity, link and bookkeeping tables (small): replaced whole."""
    copied = {}
    for contract in (*ENTITY_CONTRACTS, *LINK_CONTRACTS):
        copied[contract.table] = _replace(source, cursor, schema, contract.table, contract.column_names)
    for table in _BOOKKEEPING:
        columns = [part.split()[0] for part in _BOOKKEEPING[table].split(", ")]
        copied[table] = _replace(source, cursor, schema, table, columns)
    return copied


def _copy_query(
    source: duckdb.DuckDBPyConnection, cursor, sql: str, table: str, columns: list[str], parameters: dict | None = None
) -> None:
    """Stream a DuckDB query (its values bound as `parameters`) into a PostgreSQL table with COPY, one Arrow batch at
    a time (bounded memory).

    CSV with every value quoted: PostgreSQL reads an unquoted empty field as NULL and `""` as an empty string.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    result = source.execute(sql, parameters) if parameters else source.sql(sql)
    reader = result.to_arrow_reader(batch_size=200_000)
    for batch in reader:
        buffer = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([batch]), buffer, options)
        buffer.seek(0)
        cursor.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin with (format csv)", buffer)


def _upsert(source, cursor, schema: str, contract: Contract, where: str) -> int:
    columns = contract.column_names
    count = source.execute(f"select count(*) from raw.{contract.table} where {where}").fetchall()[0][0]
    if not count:
        return 0
    staging = f"incoming_{contract.table}"
    cursor.execute(f"create temp table {staging} (like {schema}.{contract.table} including defaults) on commit drop")
    _copy_query(
        source, cursor, f"select {', '.join(columns)} from raw.{contract.table} where {where}", staging, columns
    )
    _ensure_month_partitions(cursor, schema, contract.table, staging)
    # delete then insert, not `on conflict`: a partitioned table's unique key includes ts_utc, and a later snapshot
    # of a call may carry another timestamp than the row it replaces
    same_key = " and ".join(f"target.{name} = incoming.{name}" for name in contract.key)
    cursor.execute(f"delete from {schema}.{contract.table} as target using {staging} as incoming where {same_key}")
    cursor.execute(f"insert into {schema}.{contract.table} select * from {staging}")
    return count


def _ensure_month_partitions(cursor, schema: str, table: str, staging: str) -> None:
    """One partition per calendar month the incoming rows cover (a table created before partitioning: none)."""
    from psycopg2 import sql

    cursor.execute(
        "select exists (select 1 from pg_partitioned_table p join pg_class c on c.oid = p.partrelid "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s)",
        (schema, table),
    )
    if not cursor.fetchone()[0]:
        return
    cursor.execute(
        f"select date_trunc('month', min({PARTITION_COLUMN}))::date, date_trunc('month', max({PARTITION_COLUMN}))::date "
        f"from {staging}"
    )
    first, last = cursor.fetchone()
    month = first
    while month is not None and month <= last:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        statement = sql.SQL("create table if not exists {} partition of {} for values from (%s) to (%s)").format(
            sql.Identifier(schema, f"{table}_p{month:%Y%m}"), sql.Identifier(schema, table)
        )
        cursor.execute(statement, (month, following))  # psycopg2 quotes the bounds client-side (DDL takes no binds)
        month = following


def _replace(source, cursor, schema: str, table: str, columns: list[str]) -> int:
    cursor.execute(f"delete from {schema}.{table}")
    _copy_query(source, cursor, f"select {', '.join(columns)} from raw.{table}", f"{schema}.{table}", columns)
    cursor.execute(f"select count(*) from {schema}.{table}")
    return cursor.fetchone()[0]
