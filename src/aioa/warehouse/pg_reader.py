"""Server mode's read side: a PostgreSQL connection that reads like the DuckDB snapshot reader, and the published
version that plays the snapshot version's part (caches key on it).

Every reader (reports, the API, the app, Ask, notebooks, ML) is written against DuckDB's connection API
(`connection.cursor().execute(sql, params).df()`) in DuckDB's dialect; `PostgresReader` offers the same calls,
rewrites the statement once per text (`pg_dialect.to_postgres`) and binds the same parameters. Its session is
read-only (`default_transaction_read_only`), bounded (`statement_timeout`, `work_mem`) and never holds a
transaction open between statements.

The pipeline publishes in PostgreSQL the way it publishes a DuckDB snapshot: once the marts are built and checked it
appends a row to `<prefix>serving.publications`; readers take the latest row's version.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime

import pandas as pd

from aioa.settings import Settings
from aioa.warehouse.pg_dialect import to_postgres

# PostgreSQL type OIDs whose Python values pandas would keep as objects, and what DuckDB's `.df()` gives instead
_NUMERIC, _DATE, _TIMESTAMP, _TIMESTAMPTZ = 1700, 1082, 1114, 1184
_INTEGERS = frozenset({20, 21, 23})


def reader_options(settings: Settings) -> str:
    """Session settings of every server-mode read connection (libpq `options`)."""
    timeout_ms = int(settings.reader_statement_timeout_s * 1000)
    return (
        f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} "
        f"-c work_mem={settings.postgres_reader_work_mem} -c idle_in_transaction_session_timeout=60000"
    )


def connect_postgres_reader(settings: Settings) -> PostgresReader:
    import psycopg2

    connection = psycopg2.connect(
        settings.postgres_dsn, options=reader_options(settings), application_name="aioa-reader"
    )
    connection.autocommit = True  # each statement its own (read-only) transaction: nothing held between reads
    return PostgresReader(connection, settings.postgres_schema_prefix)


class PostgresReader:
    """DuckDB's reader calls (`cursor`, `execute`, `sql`, `fetchone`, `fetchall`, `df`, `interrupt`, `close`) over
    one psycopg2 connection."""

    def __init__(self, connection, schema_prefix: str) -> None:
        self._connection = connection
        self._prefix = schema_prefix
        self._last: PostgresCursor | None = None  # DuckDB keeps a connection's last result on the connection

    def cursor(self) -> PostgresCursor:
        return PostgresCursor(self._connection, self._prefix)

    def execute(self, sql: str, parameters: object = None) -> PostgresCursor:
        if self._last is not None:
            self._last.close()
        self._last = self.cursor().execute(sql, parameters)
        return self._last

    def __getattr__(self, name: str):  # fetchone, fetchall, df, description of the last result
        if name in {"fetchone", "fetchall", "df", "fetchdf", "description"} and self._last is not None:
            return getattr(self._last, name)
        raise AttributeError(name)

    def sql(self, sql: str) -> PostgresCursor:
        return self.execute(sql)

    def interrupt(self) -> None:
        self._connection.cancel()

    def close(self) -> None:
        self._connection.close()

    @property
    def closed(self) -> bool:
        return bool(self._connection.closed)

    def __enter__(self) -> PostgresReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class PostgresCursor:
    def __init__(self, connection, schema_prefix: str) -> None:
        self._connection = connection
        self._prefix = schema_prefix
        self._cursor = None

    def cursor(self) -> PostgresCursor:
        return PostgresCursor(self._connection, self._prefix)

    def execute(self, sql: str, parameters: object = None) -> PostgresCursor:
        import psycopg2.errors

        from aioa.warehouse.connection import QueryTimeout

        if self._cursor is not None:
            self._cursor.close()
        self._cursor = self._connection.cursor()
        try:
            self._cursor.execute(to_postgres(sql, self._prefix), _bound(parameters))
        except psycopg2.errors.QueryCanceled as error:
            raise QueryTimeout(f"the query was stopped: {str(error).strip()}") from None
        return self

    @property
    def description(self):
        return self._cursor.description if self._cursor is not None else None

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall()

    def df(self) -> pd.DataFrame:
        return _frame(self._cursor.description, self._cursor.fetchall())

    fetchdf = df

    def interrupt(self) -> None:
        self._connection.cancel()

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()

    def __enter__(self) -> PostgresCursor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _bound(parameters: object) -> object:
    """DuckDB's parameters as psycopg2 binds them: `$name` dicts stay dicts, `?` lists become tuples."""
    if parameters is None or isinstance(parameters, dict):
        return parameters
    if isinstance(parameters, Sequence) and not isinstance(parameters, str):
        return tuple(parameters)
    return parameters


def _frame(description, rows: list[tuple]) -> pd.DataFrame:
    """Rows as DuckDB's `.df()` types them: numerics as floats, dates and timestamps as datetime64, integer
    columns with NULLs as nullable Int64."""
    names = [column.name for column in description]
    frame = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(columns=names)
    for position, column in enumerate(description):
        series = frame.iloc[:, position]
        if column.type_code == _NUMERIC:
            converted = pd.to_numeric(series, errors="coerce").astype("float64")
        elif column.type_code in (_DATE, _TIMESTAMP):
            converted = pd.to_datetime(series).astype("datetime64[us]")
        elif column.type_code == _TIMESTAMPTZ:
            converted = pd.to_datetime(series, utc=True)
        elif column.type_code in _INTEGERS:
            converted = series.astype("Int64") if series.isna().any() else series.astype("int64")
        else:
            continue
        frame.isetitem(position, converted)
    return frame


def publications_table(settings: Settings) -> str:
    return f"{settings.postgres_schema_prefix}serving.publications"


def publish_postgres(settings: Settings) -> str:
    """Record that the marts in PostgreSQL are built and checked: readers (and their caches) move to this version."""
    from aioa.warehouse.postgres import pg_connect

    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    schema = f"{settings.postgres_schema_prefix}serving"
    with closing(pg_connect(settings)) as connection, connection, connection.cursor() as cursor:
        cursor.execute(f"create schema if not exists {schema}")
        cursor.execute(
            f"create table if not exists {schema}.publications "
            "(version text primary key, published_at timestamptz not null default now())"
        )
        cursor.execute(f"insert into {schema}.publications (version) values (%s)", (version,))
    return version


def published_version(reader: PostgresReader | PostgresCursor) -> str | None:
    """The latest published version, or None when the pipeline has not published in this server yet."""
    import psycopg2.errors

    try:
        row = reader.cursor().execute("select max(version) from serving.publications").fetchone()
    except psycopg2.errors.UndefinedTable:  # autocommit: the failed statement leaves the session usable
        return None
    return row[0] if row else None
