"""`aioa warehouse rekey`: re-encrypt the warehouse, its snapshots and the Parquet archive with a new key (or
encrypt plain files, or decrypt them).

Each file is copied into a fresh one encrypted with the new key (`COPY FROM DATABASE`: only live rows, so no block
of the old file survives), every table's row count is compared between the two, and the fresh file replaces the
old one atomically (`os.replace`). The old key is the configured one (AIOA_WAREHOUSE_KEY / _FILE; none: the files
are plain). Run it with the pipeline stopped: the working warehouse is opened for writing, so a concurrent writer
makes it fail rather than lose rows. Readers that already have a snapshot open keep reading it; the ones opened
after the swap need the new key (docs/operations.md, "Encryption at rest").

The archive goes first (`aioa.archive.rekey.rekey_archive`: file by file, rows counted, swapped by rename, files
already under the new key skipped, so a run that failed half way can be run again), then the DuckDB files. A
snapshot's archive views name whether the archive is encrypted, so they are written again in each rekeyed snapshot,
against the archive as it now is.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from aioa.settings import Settings
from aioa.warehouse.encryption import WarehouseKeyError, attach, load_crypto, warehouse_key
from aioa.warehouse.snapshots import snapshot_dir
from aioa.warehouse.sql import execute_script, sql_identifier


@dataclass
class RekeyReport:
    files: list[str] = field(default_factory=list)  # rewritten, warehouse first
    tables: int = 0  # across the files
    rows: int = 0
    archive_files: int = 0  # Parquet files of the archive rewritten (those already under the new key are skipped)
    archive_rows: int = 0
    encrypted: bool = True  # with the new key (False: decrypted)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def rekey(settings: Settings, new_key: str | None) -> RekeyReport:
    """Rewrite the working warehouse and every snapshot under `settings.home` with `new_key` (None: in the clear)."""
    started = time.perf_counter()
    if new_key is not None and not new_key.strip():
        raise WarehouseKeyError("the new warehouse key is empty")
    old_key = warehouse_key(settings)
    files = [settings.warehouse_path] if settings.warehouse_path.exists() else []
    folder = snapshot_dir(settings)
    files += sorted(folder.glob("warehouse-*.duckdb")) if folder.exists() else []
    if not files:
        raise WarehouseKeyError(f"no warehouse under {settings.home}: nothing to re-encrypt")
    report = RekeyReport(encrypted=new_key is not None)
    from aioa.archive.rekey import rekey_archive

    archive = rekey_archive(settings, old_key, new_key)
    report.archive_files, report.archive_rows = archive.files, archive.rows
    for path in files:
        tables, rows = _rekey_file(settings, path, old_key, new_key, working=path == settings.warehouse_path)
        report.files.append(str(path))
        report.tables += tables
        report.rows += rows
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _rekey_file(settings: Settings, path: Path, old_key: str | None, new_key: str | None, *, working: bool):
    fresh = path.with_name(path.name + ".rekey.partial")  # `.partial`: never backed up, never taken for a snapshot
    fresh.unlink(missing_ok=True)
    config = {"memory_limit": settings.duckdb_memory_limit, "autoinstall_known_extensions": "false"}
    if old_key is not None or new_key is not None:
        config |= {"temp_file_encryption": "true", "temp_directory": str(path) + ".tmp"}
    connection = duckdb.connect(config=config)
    try:
        if old_key is not None or new_key is not None:
            load_crypto(connection)
        archived = _register_archive(connection, settings, new_key)  # a snapshot's views read the Parquet archive
        # The working file is opened for writing: its log is checkpointed first, and a running writer's lock stops
        # us. Snapshots are immutable and checkpointed when published: read-only.
        attach(connection, path, "source", old_key, read_only=not working)
        if working:
            connection.execute("checkpoint source")
        attach(connection, fresh, "rekeyed", new_key)
        execute_script(connection, "copy from database source to rekeyed")  # DuckDB 1.5 expands it: several
        tables, rows = _compare_counts(connection, path)
        if archived and not working:  # its archive views, reading the archive as rekey_archive left it
            from aioa.archive.snapshot import write_archive_views

            connection.execute("use rekeyed")
            write_archive_views(connection, new_key is not None)
            connection.execute("use memory")
        connection.execute("detach rekeyed")
        connection.execute("detach source")
    except BaseException:
        connection.close()
        fresh.unlink(missing_ok=True)
        raise
    connection.close()
    with fresh.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)  # checkpointed above: a log left would be the old file's
    return tables, rows


def _compare_counts(connection: duckdb.DuckDBPyConnection, path: Path) -> tuple[int, int]:
    """Every base table's rows, in the source and in the copy; a difference stops the swap."""
    tables = connection.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'source' order by all"
    ).fetchall()
    total = 0
    for schema, table in tables:
        name = f"{sql_identifier(schema)}.{sql_identifier(table)}"
        before = connection.execute(f"select count(*) from source.{name}").fetchall()[0][0]
        after = connection.execute(f"select count(*) from rekeyed.{name}").fetchall()[0][0]
        if before != after:
            raise WarehouseKeyError(f"{path}: {schema}.{table} has {before} rows but its copy {after}: not swapped")
        total += before
    return len(tables), total


def _register_archive(connection: duckdb.DuckDBPyConnection, settings: Settings, new_key: str | None) -> bool:
    from aioa.archive.store import archive_filesystem, holds_any_table, register

    filesystem = archive_filesystem(settings, writable=False)
    if holds_any_table(filesystem):
        register(connection, filesystem, new_key)
        return True
    return False
