"""Read connections to the published snapshot: one per snapshot version per worker thread (reopened when a new
snapshot is published), never the writer's. Each request reads through its own cursor, under the statement
timeout (`TimedReader`), so two requests never share a DuckDB cursor.

In server mode (`AIOA_WAREHOUSE=postgres`) each worker thread holds one read-only PostgreSQL connection instead
(`PostgresReader`, same calls), and the version is the one the pipeline last published there."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from aioa.settings import Settings
from aioa.warehouse.connection import TimedReader, connect_reader
from aioa.warehouse.pg_reader import PostgresReader, published_version
from aioa.warehouse.snapshots import current_snapshot

_per_thread = threading.local()


def snapshot_connection(settings: Settings) -> tuple[duckdb.DuckDBPyConnection | PostgresReader, str]:
    """This thread's read connection to the current snapshot of `settings.home`, and its version.

    Raises `NoSnapshotError` when nothing is published yet."""
    if settings.warehouse == "postgres":
        return _server_connection(settings)
    opened: dict[str, tuple[str, duckdb.DuckDBPyConnection]] = _per_thread.__dict__.setdefault("opened", {})
    home = str(settings.home)
    for attempt in range(3):
        version, path = current_snapshot(settings)
        held = opened.get(home)
        if held is not None and held[0] == version:
            return held[1], version
        try:
            connection = connect_reader(path, settings)
        except duckdb.IOException:
            if attempt == 2:
                raise
            time.sleep(0.05)  # the pointer moved between reading it and opening the file: read it again
            continue
        if held is not None:
            held[1].close()  # an older version: this thread will not read it again
        opened[home] = (version, connection)
        return connection, version
    raise AssertionError("unreachable")


def _server_connection(settings: Settings) -> tuple[PostgresReader, str]:
    """This thread's PostgreSQL reader (reopened if the server dropped it) and the published version."""
    import psycopg2

    from aioa.warehouse.pg_reader import connect_postgres_reader
    from aioa.warehouse.snapshots import NoSnapshotError

    servers: dict[tuple[str, str], PostgresReader] = _per_thread.__dict__.setdefault("servers", {})
    key = (settings.postgres_dsn, settings.postgres_schema_prefix)
    reader = servers.get(key)
    if reader is None or reader.closed:
        reader = servers[key] = connect_postgres_reader(settings)
    try:
        version = published_version(reader)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):  # the server restarted: one new connection
        reader.close()
        reader = servers[key] = connect_postgres_reader(settings)
        version = published_version(reader)
    if version is None:
        raise NoSnapshotError("nothing published in PostgreSQL yet: run the pipeline (`aioa run`) first")
    return reader, version


@contextmanager
def snapshot_reader(settings: Settings) -> Iterator[tuple[TimedReader, str]]:
    """A cursor of this thread's snapshot connection, timed, closed after use."""
    connection, version = snapshot_connection(settings)
    cursor = connection.cursor()
    try:
        yield TimedReader(cursor, settings.reader_statement_timeout_s), version
    finally:
        cursor.close()


def close_thread_readers() -> None:
    for _, connection in _per_thread.__dict__.pop("opened", {}).values():
        connection.close()
    for reader in _per_thread.__dict__.pop("servers", {}).values():
        reader.close()
