"""The pipeline's writer-side view of the warehouse, the same for DuckDB (working file) and PostgreSQL.

SQL passed to `frame` may name `{raw}`, `{marts}`, `{quality}` and `{ml}`; they resolve to the backend's schema
names (PostgreSQL deployments may prefix them).
"""

from __future__ import annotations

from contextlib import closing
from typing import Protocol

import duckdb
import pandas as pd

from aioa.quality.checks import RESULTS_COLUMNS
from aioa.settings import Settings


class WarehouseSession(Protocol):
    def frame(self, sql: str) -> pd.DataFrame: ...

    def has_table(self, schema: str, table: str) -> bool: ...

    def store_check_results(self, rows: list[tuple]) -> None: ...


class DuckDBSession:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def frame(self, sql: str) -> pd.DataFrame:
        return self.connection.execute(sql.format(raw="raw", marts="marts", quality="quality", ml="ml")).df()

    def has_table(self, schema: str, table: str) -> bool:
        """Whether `{schema}.table` exists (`schema` one of the placeholders' names: raw, marts, quality, ml)."""
        found = self.connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchall()
        return bool(found[0][0])

    def store_check_results(self, rows: list[tuple]) -> None:
        self.connection.execute("create schema if not exists quality")
        self.connection.execute(f"create table if not exists quality.check_results {RESULTS_COLUMNS}")
        self.connection.executemany("insert into quality.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


class PostgresSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        prefix = settings.postgres_schema_prefix
        self.schemas = {name: f"{prefix}{name}" for name in ("raw", "marts", "quality", "ml")}

    def frame(self, sql: str) -> pd.DataFrame:
        from aioa.warehouse.postgres import pg_connect

        with closing(pg_connect(self.settings)) as connection, connection.cursor() as cursor:
            cursor.execute(sql.format(**self.schemas))
            columns = [column.name for column in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=columns)

    def has_table(self, schema: str, table: str) -> bool:
        from aioa.warehouse.postgres import pg_connect

        with closing(pg_connect(self.settings)) as connection, connection.cursor() as cursor:
            cursor.execute(
                "select count(*) from information_schema.tables where table_schema = %s and table_name = %s",
                (self.schemas[schema], table),
            )
            return bool(cursor.fetchone()[0])

    def store_check_results(self, rows: list[tuple]) -> None:
        from aioa.warehouse.postgres import pg_connect

        table = f"{self.schemas['quality']}.check_results"
        columns = RESULTS_COLUMNS.replace("varchar", "text")
        with closing(pg_connect(self.settings)) as connection, connection, connection.cursor() as cursor:
            cursor.execute(f"create schema if not exists {self.schemas['quality']}")
            cursor.execute(f"create table if not exists {table} {columns}")
            cursor.executemany(f"insert into {table} values ({', '.join(['%s'] * 11)})", rows)


def with_session(settings: Settings, work):
    """Run `work(session)` on the configured warehouse's writer side (DuckDB: checkpointed and closed after)."""
    if settings.warehouse == "postgres":
        return work(PostgresSession(settings))
    from aioa.warehouse import connect

    connection = connect(settings)
    try:
        result = work(DuckDBSession(connection))
        connection.execute("checkpoint")
        return result
    finally:
        connection.close()
