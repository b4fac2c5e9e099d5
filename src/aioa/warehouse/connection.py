"""DuckDB connections to the warehouse under AIOA_HOME: the writer's, and the one locked-down reader every read
path (app, API, reports, questions, notebooks, ML) opens through `connect_reader()`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from aioa.settings import Settings, get_settings
from aioa.warehouse.encryption import open_database
from aioa.warehouse.schema import all_ddl
from aioa.warehouse.sql import execute_script


class QueryTimeout(RuntimeError):
    """A statement on a read connection ran longer than `reader_statement_timeout_s` and was interrupted."""


def connect(settings: Settings | None = None, *, read_only: bool = False, path: Path | None = None):
    """Open the warehouse (encrypted when a key is configured, see `aioa.warehouse.encryption`). Writers create the
    schema; readers get the locked-down read-only connection."""
    settings = settings or get_settings()
    path = path or settings.warehouse_path
    if read_only:
        return connect_reader(path, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": settings.duckdb_memory_limit}
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    connection = open_database(path, settings, config=config)
    ensure_schema(connection)
    return connection


_READER_OPEN_LOCK = threading.Lock()


def connect_reader(path: Path, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """Read-only, no file/network access, no extension installs or loads, and the configuration locked so a query
    cannot undo any of it (`SET`, `RESET`, `ATTACH`, `COPY`, `read_csv`, `glob`, `INSTALL`/`LOAD` all fail).
    Extensions compiled in (JSON) keep working. The one exception: the Parquet archive, registered read-only
    under `aioaarchive://` (see `aioa.archive.snapshot`), which the snapshot's `marts.fct_llm_calls` unions; with
    a warehouse key its Parquet key is added then too, before the lock."""
    settings = settings or get_settings()
    config = {
        "memory_limit": settings.duckdb_memory_limit,
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    # DuckDB shares one database instance per file within a process: a second reader joins the first one's
    # (already locked) instance, so lock only once, and check the lock holds external access off either way.
    # Opening and locking are one step per process: two threads opening the same file at once would both see it
    # unlocked and the second one's SET would fail on the first one's lock.
    with _READER_OPEN_LOCK:
        connection = open_database(path, settings, read_only=True, config=config)
        external, locked = connection.execute(
            "select current_setting('enable_external_access'), current_setting('lock_configuration')"
        ).fetchall()[0]
        if locked and external:
            connection.close()
            raise RuntimeError(f"{path} is already open in this process with external access enabled")
        if not locked:
            # External access goes off by SET, not by config: the archive's read-only file system must be allowed
            # first (`allowed_directories` cannot change once external access is off). No query has run before.
            from aioa.archive.snapshot import allow_archive

            allow_archive(connection, settings)
            connection.execute("set enable_external_access = false")
            connection.execute("set lock_configuration = true")  # last: it freezes every setting above
    return connection


@contextmanager
def statement_timeout(connection: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[None]:
    """Interrupt whatever `connection` (a connection or cursor) runs after `seconds`; DuckDB has no timeout of its
    own. Raises `QueryTimeout` when the interrupt fired."""
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        connection.interrupt()

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    except duckdb.InterruptException:
        if fired.is_set():
            raise QueryTimeout(f"the query ran longer than {seconds:g} s and was stopped") from None
        raise
    finally:
        timer.cancel()


class TimedReader:
    """A read connection whose every `execute` runs under `statement_timeout`, for code written against a plain
    connection (`connection.cursor().execute(sql, params).df()`)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, seconds: float) -> None:
        self._connection = connection
        self._seconds = seconds

    def cursor(self) -> TimedReader:
        return TimedReader(self._connection.cursor(), self._seconds)

    def execute(self, sql: str, parameters: object = None) -> TimedReader:
        with statement_timeout(self._connection, self._seconds):
            self._connection.execute(sql, parameters)
        return self

    def __getattr__(self, name: str):
        return getattr(self._connection, name)

    def __enter__(self) -> TimedReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self._connection.close()


def ensure_schema(connection: duckdb.DuckDBPyConnection) -> None:
    execute_script(connection, all_ddl())
