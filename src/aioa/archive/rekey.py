"""The archive's Parquet files under a new key: encrypted when a warehouse key is configured, re-encrypted by
`aioa warehouse rekey`, decrypted by `aioa warehouse rekey --decrypt`.

A file is rewritten whole (DuckDB reads it and writes a fresh file next to the archive's tables, in `.rekey/`), its
rows are counted in both, and the fresh file replaces the old one by a rename: a reader sees the old file or the
new one, never half of one, and a failure leaves the old file as it was. Whether a file is encrypted is read from
its last four bytes (`PARE` for an encrypted footer, `PAR1` for a plain one), so the rewrite is idempotent: a
rekey run again after a failure skips the files already under the new key.

`encrypt_plain_files` is the migration of an archive written before a key was configured: a writer (archive run,
ingest, privacy delete, snapshot publication) encrypts the plain files it is about to read, so a DuckDB scan never
meets encrypted and plain files together (it refuses a plain file when given a key, and the reverse).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from aioa.archive.store import (
    ARCHIVED_TABLES,
    PROTOCOL,
    archive_filesystem,
    copy_options,
    read_options,
    register,
)
from aioa.settings import Settings
from aioa.warehouse.encryption import (
    ARCHIVE_KEY_NAME,
    WarehouseKeyError,
    add_archive_key,
    load_crypto,
    warehouse_key,
)

if TYPE_CHECKING:  # fsspec loads only where an archive file system is built (the ingest imports this module)
    from aioa.archive.filesystem import ArchiveFileSystem

REKEY_DIR = ".rekey"  # fresh files, beside (never inside) the tables' folders: no scan of the archive sees them
OLD_KEY_NAME = "aioa_archive_old"  # the old key's Parquet name while `rekey_archive` runs
_ENCRYPTED_MAGIC = b"PARE"

# $file bound; the fresh file's URL is our own (REKEY_DIR and a random name), quoted with sql_string.
_COUNT = "select count(*) from read_parquet($file, hive_partitioning = false{options})"
_REWRITE = (
    "copy (select * from read_parquet($file, hive_partitioning = false{source})) "
    "to {target_url} (format parquet, compression zstd{target})"
)


@dataclass
class ArchiveRekeyReport:
    files: int = 0  # rewritten
    rows: int = 0  # in the files rewritten, each counted in the old file and the new one
    skipped: int = 0  # already as wanted (plain for --decrypt, readable with the new key)


def file_is_encrypted(filesystem: ArchiveFileSystem, path: str) -> bool:
    """Whether the archive file `path` has an encrypted footer (DuckDB encrypts the footer and every column)."""
    with filesystem.open(path, "rb") as handle:
        handle.seek(-4, 2)
        return handle.read(4) == _ENCRYPTED_MAGIC


def archive_parquet_files(filesystem: ArchiveFileSystem) -> list[str]:
    """Every Parquet file of every archived table (paths relative to the archive root)."""
    return [
        path
        for spec in ARCHIVED_TABLES.values()
        if filesystem.exists(spec.directory)
        for path in sorted(filesystem.glob(f"{spec.directory}/**/*.parquet"))
    ]


def encrypt_plain_files(connection: duckdb.DuckDBPyConnection, settings: Settings, files: list[str]) -> int:
    """With a warehouse key configured: encrypt the plain ones of the archive files `files` (`aioaarchive://` URLs
    or paths in the archive) in place, on a writer's `connection` (crypto loaded, archive registered writable with
    the key). Returns the files encrypted; nothing happens without a key."""
    if warehouse_key(settings) is None or not files:
        return 0
    filesystem = archive_filesystem(settings, writable=True)
    prefix = f"{PROTOCOL}://"
    encrypted = 0
    for path in (file.removeprefix(prefix) for file in files):
        if not file_is_encrypted(filesystem, path):
            _rewrite(connection, filesystem, path, read_options(False), copy_options(True))
            encrypted += 1
    return encrypted


def encrypt_plain_archive(settings: Settings) -> int:
    """With a warehouse key configured: encrypt every plain file of the archive (an archive written before the key),
    on a connection of its own; before the archive is read as a whole (dbt's `with_archive`, a snapshot's views).
    Returns the files encrypted; only the files' last bytes are read when none is plain."""
    key = warehouse_key(settings)
    if key is None or settings.warehouse != "duckdb":  # PostgreSQL mode does not archive
        return 0
    filesystem = archive_filesystem(settings, writable=True)
    plain = [path for path in archive_parquet_files(filesystem) if not file_is_encrypted(filesystem, path)]
    if not plain:
        return 0
    connection = _connection(settings, key)
    try:
        register(connection, filesystem, key)
        for path in plain:
            _rewrite(connection, filesystem, path, read_options(False), copy_options(True))
    finally:
        connection.close()
    return len(plain)


def rekey_archive(settings: Settings, old_key: str | None, new_key: str | None) -> ArchiveRekeyReport:
    """Rewrite every archive file under `new_key` (None: in the clear), reading it with `old_key` (the configured
    key; a plain file needs none). A file already as wanted is skipped; a file the old key cannot read stops the
    rekey before it is touched (WarehouseKeyError, the key never in it)."""
    report = ArchiveRekeyReport()
    filesystem = archive_filesystem(settings, writable=True)
    files = archive_parquet_files(filesystem)
    if not files:
        return report
    connection = _connection(settings, new_key)
    try:
        register(connection, filesystem, new_key)  # the new key as ARCHIVE_KEY_NAME
        add_archive_key(connection, old_key, OLD_KEY_NAME)
        for path in files:
            encrypted = file_is_encrypted(filesystem, path)
            if not encrypted and new_key is None:
                report.skipped += 1
                continue
            if encrypted and new_key is not None and _readable(connection, path, read_options(True)):
                report.skipped += 1
                continue
            if encrypted and old_key is None:
                raise WarehouseKeyError(
                    f"archive file {path} is encrypted: set AIOA_WAREHOUSE_KEY (or _FILE) to its key to rekey it"
                )
            source = read_options(True, OLD_KEY_NAME) if encrypted else read_options(False)
            report.rows += _rewrite(connection, filesystem, path, source, copy_options(new_key is not None))
            report.files += 1
    finally:
        connection.close()
    return report


def _connection(settings: Settings, new_key: str | None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that writes encrypted Parquet when `new_key` is set (the crypto loaded from the wheel)."""
    connection = duckdb.connect(
        config={"memory_limit": settings.duckdb_memory_limit, "autoinstall_known_extensions": "false"}
    )
    try:
        if new_key is not None:
            load_crypto(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def _readable(connection: duckdb.DuckDBPyConnection, path: str, options: str) -> bool:
    try:
        connection.execute(_COUNT.format(options=options), {"file": f"{PROTOCOL}://{path}"}).fetchall()
    except duckdb.InvalidInputException:  # "Computed AES tag differs from read AES tag": another key
        return False
    return True


def _rewrite(
    connection: duckdb.DuckDBPyConnection, filesystem: ArchiveFileSystem, path: str, source: str, target: str
) -> int:
    """Rewrite the archive file `path` read with the options `source` into a fresh file written with `target`,
    compare their rows, and swap the fresh file in. Returns the rows."""
    from aioa.warehouse.sql import sql_string

    fresh = f"{REKEY_DIR}/{uuid.uuid4().hex}.parquet"
    url = f"{PROTOCOL}://{path}"
    try:
        try:
            before = connection.execute(_COUNT.format(options=source), {"file": url}).fetchall()[0][0]
        except duckdb.InvalidInputException as error:
            if "AES tag" in str(error):
                raise WarehouseKeyError(
                    f"archive file {path}: wrong key: AIOA_WAREHOUSE_KEY is not the key it was encrypted with"
                ) from None
            raise
        filesystem.makedirs(REKEY_DIR, exist_ok=True)
        target_url = sql_string(f"{PROTOCOL}://{fresh}")
        connection.execute(_REWRITE.format(source=source, target_url=target_url, target=target), {"file": url})
        after_options = read_options(True) if target else read_options(False)
        after = connection.execute(_COUNT.format(options=after_options), {"file": f"{PROTOCOL}://{fresh}"}).fetchall()
        if after[0][0] != before:
            raise WarehouseKeyError(f"archive file {path} has {before} rows but its copy {after[0][0]}: not swapped")
        filesystem.mv(fresh, path)
    finally:
        if filesystem.exists(fresh):
            filesystem.rm(fresh)
    return before


__all__ = ["ARCHIVE_KEY_NAME", "encrypt_plain_archive", "encrypt_plain_files", "file_is_encrypted", "rekey_archive"]
