"""Read snapshots: the writer publishes an immutable copy of the warehouse; readers never meet its lock.

DuckDB allows one writer process. After each committed ingest the writer copies the (checkpointed) warehouse to
`snapshots/warehouse-<version>.duckdb` and swaps the `CURRENT` pointer atomically (`os.replace`). Readers open the
version `CURRENT` names, read-only; the version doubles as a cache key for the app.

In server mode (`warehouse = "postgres"`) there is no file: `open_snapshot` and `current_version` answer from
PostgreSQL (`aioa.warehouse.pg_reader`), with the version the pipeline published there last.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from aioa.atomic_files import write_atomically, write_text_atomically
from aioa.settings import Settings

KEEP_SNAPSHOTS = 3
MIN_AGE_BEFORE_DELETE_S = 600  # a reader that read CURRENT just before a swap still finds its file


class NoSnapshotError(RuntimeError):
    pass


def snapshot_dir(settings: Settings) -> Path:
    return settings.home / "snapshots"


def publish_snapshot(settings: Settings) -> str:
    """Copy the warehouse into a new immutable snapshot and make it current. Call with no writer connection open."""
    folder = snapshot_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"warehouse-{version}.duckdb"
    from aioa.archive.snapshot import add_archive_to_snapshot

    def copy(partial: Path) -> None:
        shutil.copyfile(settings.warehouse_path, partial)
        add_archive_to_snapshot(settings, partial)  # archived calls stay queryable (a view over the Parquet archive)

    write_atomically(target, copy, durable=True)
    pointer = {"version": version, "file": target.name, "published_at": datetime.now(UTC).isoformat()}
    write_text_atomically(folder / "CURRENT", json.dumps(pointer))
    _prune(folder, keep=target.name)
    return version


def current_snapshot(settings: Settings) -> tuple[str, Path]:
    pointer = snapshot_dir(settings) / "CURRENT"
    if not pointer.exists():
        raise NoSnapshotError("no published snapshot yet: run an ingest (e.g. `aioa ingest claude-code`) first")
    current = json.loads(pointer.read_text())
    return current["version"], snapshot_dir(settings) / current["file"]


def current_version(settings: Settings) -> str:
    """The version readers see now (DuckDB: the current snapshot's; PostgreSQL: the last publication's)."""
    if settings.warehouse == "postgres":
        from aioa.warehouse.pg_reader import connect_postgres_reader

        with connect_postgres_reader(settings) as reader:
            return _published_or_raise(reader)
    return current_snapshot(settings)[0]


def _published_or_raise(reader) -> str:
    from aioa.warehouse.pg_reader import published_version

    version = published_version(reader)
    if version is None:
        raise NoSnapshotError("nothing published in PostgreSQL yet: run the pipeline (`aioa run`) first")
    return version


def open_snapshot(settings: Settings) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A locked-down read connection (`connect_reader`) to the current snapshot, and its version; in server mode a
    read-only PostgreSQL reader with the same calls (`PostgresReader`)."""
    from aioa.warehouse.connection import connect_reader

    if settings.warehouse == "postgres":
        from aioa.warehouse.pg_reader import connect_postgres_reader

        reader = connect_postgres_reader(settings)
        try:
            return reader, _published_or_raise(reader)
        except BaseException:
            reader.close()
            raise

    for attempt in range(3):
        version, path = current_snapshot(settings)
        try:
            return connect_reader(path, settings), version
        except duckdb.IOException:
            if attempt == 2:
                raise
            time.sleep(0.05)  # the pointer moved between reading it and opening the file: read it again
    raise AssertionError("unreachable")


def open_marts(settings: Settings, *, published: bool = True) -> tuple[duckdb.DuckDBPyConnection, str]:
    """What ML code reads: the current snapshot (`published`, for commands run on their own), or, inside a pipeline
    run, the working warehouse that run just built and checked (read-only, version "working"): the run publishes
    once, after its ML assets, so they must not read the previous snapshot."""
    if published:
        return open_snapshot(settings)
    if settings.warehouse == "postgres":  # the server's marts are what this run built: no snapshot in between
        from aioa.warehouse.pg_reader import connect_postgres_reader

        return connect_postgres_reader(settings), "working"
    from aioa.warehouse.connection import connect_reader

    if not settings.warehouse_path.exists():
        raise NoSnapshotError("no warehouse built yet, so no snapshot either: run the pipeline (`aioa run`) first")
    return connect_reader(settings.warehouse_path, settings), "working"


def _prune(folder: Path, keep: str) -> None:
    snapshots = sorted(folder.glob("warehouse-*.duckdb"))
    now = time.time()
    for old in snapshots[:-KEEP_SNAPSHOTS]:
        if old.name != keep and now - old.stat().st_mtime > MIN_AGE_BEFORE_DELETE_S:
            old.unlink(missing_ok=True)
