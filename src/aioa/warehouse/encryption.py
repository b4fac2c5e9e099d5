"""Encryption at rest for the DuckDB warehouse and its snapshots (DuckDB's database encryption, AES-256-GCM).

With a key configured (AIOA_WAREHOUSE_KEY, or AIOA_WAREHOUSE_KEY_FILE naming a file that holds it) every file of
the warehouse is opened through `open_database`: an in-memory DuckDB attaches the file with the key and makes it
the default database, so the code above it sees the same catalog as with a plain file. Its write-ahead log and
the temporary files it spills are encrypted too.

DuckDB reads encrypted files with its built-in crypto, but writes them only with OpenSSL, which its httpfs
extension brings. Writers load that extension from the `duckdb-extension-httpfs` wheel installed with aioa: the
binary DuckDB publishes, whose signature DuckDB checks on load; nothing is ever downloaded (automatic extension
installs are off). The key reaches DuckDB as a SQL variable that is reset right after the ATTACH, so it is never
part of a statement's text and no later query can read it back. Without a key nothing changes: files open
directly, as before.

The retention archive (Hive-partitioned Parquet, `aioa.archive`) is encrypted with the same configured key: DuckDB's
Parquet encryption (footer and every column, AES-GCM) under a 256-bit key derived from it here
(`archive_parquet_key`), added to a connection under the name `aioa_archive` (`add_archive_key`) the same way,
through a variable reset right after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import duckdb

from aioa.settings import Settings
from aioa.warehouse.sql import sql_identifier, sql_string

KEY_VARIABLE = "aioa_attach_key"
# The catalog name every warehouse file is read under: dbt's views name it (`warehouse.staging.stg_…`), and DuckDB
# 1.5 binds a view's catalog by name, so a snapshot (`warehouse-<version>.duckdb`) is attached under this name too.
CATALOG = "warehouse"
DBT_KEY_VARIABLE = "DBT_ENV_SECRET_WAREHOUSE_KEY"  # how dbt gets the key (dbt masks DBT_ENV_SECRET_* in logs)
# The name the archive's Parquet key is added under (PRAGMA add_parquet_key); the archive's SQL names it.
ARCHIVE_KEY_NAME = "aioa_archive"
_ARCHIVE_KEY_CONTEXT = b"aioa retention archive: parquet footer key v1"


class WarehouseKeyError(RuntimeError):
    """The key is missing, wrong or unreadable, or encrypted files cannot be written here. Never holds the key."""


def warehouse_key(settings: Settings) -> str | None:
    """The configured key (AIOA_WAREHOUSE_KEY, else the content of AIOA_WAREHOUSE_KEY_FILE), or None. A variable
    set to nothing counts as unset (compose files pass `${AIOA_WAREHOUSE_KEY:-}`)."""
    if settings.warehouse_key is not None and settings.warehouse_key.get_secret_value():
        key = settings.warehouse_key.get_secret_value()
    elif settings.warehouse_key_file is not None and str(settings.warehouse_key_file) not in ("", "."):
        try:
            key = settings.warehouse_key_file.read_text().strip()
        except OSError as error:
            raise WarehouseKeyError(
                f"cannot read the warehouse key file {settings.warehouse_key_file}: {error.strerror}"
            ) from None
    else:
        return None
    if not key:
        raise WarehouseKeyError("the configured warehouse key is empty")
    return key


def httpfs_extension() -> Path:
    """The httpfs extension binary for the running DuckDB, from the installed `duckdb-extension-httpfs` wheel."""
    wanted = f"duckdb-extension-httpfs=={duckdb.__version__}"
    try:
        import duckdb_extension_httpfs
    except ImportError:
        message = f"writing an encrypted warehouse needs OpenSSL from DuckDB's httpfs: install {wanted}"
        raise WarehouseKeyError(message) from None
    path = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = path / "httpfs.duckdb_extension"
    if not path.is_file():
        raise WarehouseKeyError(f"no httpfs extension for DuckDB {duckdb.__version__} at {path}: install {wanted}")
    return path


def load_crypto(connection: duckdb.DuckDBPyConnection) -> None:
    """Let `connection` write encrypted files: load httpfs (OpenSSL) from the wheel (signature checked)."""
    connection.load_extension(str(httpfs_extension()))


def attach(
    connection: duckdb.DuckDBPyConnection, path: Path, alias: str, key: str | None, *, read_only: bool = False
) -> None:
    """ATTACH the DuckDB file `path` as `alias`, encrypted with `key` (None: a plain file). A wrong or missing key
    raises WarehouseKeyError."""
    options = ["read_only"] if read_only else []
    if key is not None:
        options.append(f"encryption_key getvariable('{KEY_VARIABLE}')")
        connection.execute(f"set variable {KEY_VARIABLE} = ?", [key])
    statement = f"attach {sql_string(str(path))} as {sql_identifier(alias)}"
    try:
        connection.execute(statement + (f" ({', '.join(options)})" if options else ""))
    except duckdb.Error as error:
        if "encrypt" in str(error).lower():
            raise WarehouseKeyError(f"{path}: {_key_problem(error, key)}") from None
        raise
    finally:
        if key is not None:
            connection.execute(f"reset variable {KEY_VARIABLE}")


def _key_problem(error: duckdb.Error, key: str | None) -> str:
    if key is None:
        return "the file is encrypted: set AIOA_WAREHOUSE_KEY (or AIOA_WAREHOUSE_KEY_FILE) to its key"
    if "wrong" in str(error).lower():
        return "wrong key: AIOA_WAREHOUSE_KEY is not the key this file was encrypted with"
    if "not encrypted" in str(error).lower():
        return (
            "a warehouse key is set but this file is not encrypted: encrypt the home with `aioa warehouse rekey "
            "--new-key-file FILE` (key unset while it runs), then set the key"
        )
    return str(error).splitlines()[0]


class AttachedConnection:
    """A connection whose default database is an attached file. DuckDB starts every cursor in the instance's
    in-memory database, so `cursor()` switches the new cursor to the file (and wraps it: readers take cursors of
    cursors); everything else is the connection's."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, catalog: str) -> None:
        self._connection = connection
        self._catalog = catalog

    def cursor(self) -> AttachedConnection:
        cursor = self._connection.cursor()
        cursor.execute(f"use {sql_identifier(self._catalog)}")
        return AttachedConnection(cursor, self._catalog)

    def __getattr__(self, name: str):
        return getattr(self._connection, name)

    def __enter__(self) -> AttachedConnection:
        return self

    def __exit__(self, *exc_info) -> None:
        self._connection.close()


def open_database(
    path: Path, settings: Settings, *, read_only: bool = False, config: dict | None = None
) -> duckdb.DuckDBPyConnection:
    """The DuckDB file `path` of the warehouse (the working file or a snapshot) as the connection's default
    database `warehouse`: the working file without a key is opened directly; a snapshot, or any file with a key, is
    attached under that name (encrypted with the key; writers load the crypto first)."""
    key = warehouse_key(settings)
    config = dict(config or {})
    if key is None and path.stem == CATALOG:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as error:
            if "encrypt" in str(error).lower():
                raise WarehouseKeyError(f"{path}: {_key_problem(error, None)}") from None
            raise
    config |= {"temp_directory": str(path) + ".tmp"}  # where DuckDB spills for a file opened directly
    if key is not None:
        config |= {"autoinstall_known_extensions": "false", "temp_file_encryption": "true"}
    connection = duckdb.connect(config=config)
    try:
        if key is not None and not read_only:
            load_crypto(connection)
        attach(connection, path, CATALOG, key, read_only=read_only)
        connection.execute(f"use {CATALOG}")
    except BaseException:
        connection.close()
        raise
    return AttachedConnection(connection, CATALOG)  # type: ignore[return-value]


def is_encrypted(path: Path) -> bool:
    """Whether the DuckDB file at `path` is encrypted (read from its header; no key needed)."""
    connection = duckdb.connect()
    try:
        try:
            connection.execute(f"attach {sql_string(str(path))} as probe (read_only)")
        except duckdb.Error as error:
            if "encrypt" in str(error).lower():
                return True
            raise
        return False
    finally:
        connection.close()


def archive_parquet_key(key: str) -> str:
    """The archive's Parquet key for the warehouse key `key`: HMAC-SHA256 of a fixed context under it, base64 (the
    256-bit form `add_parquet_key` takes). The one derivation; the result is as secret as the key."""
    digest = hmac.new(key.encode(), _ARCHIVE_KEY_CONTEXT, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def add_archive_key(connection: duckdb.DuckDBPyConnection, key: str | None, name: str = ARCHIVE_KEY_NAME) -> None:
    """Let `connection`'s database read (and, with the crypto loaded, write) archive files encrypted under the
    warehouse key `key`, as the Parquet key `name` (nothing when `key` is None). DuckDB keeps Parquet keys per
    database instance: every connection and cursor of it sees the key. Bound through a variable, as in `attach`."""
    if key is None:
        return
    connection.execute(f"set variable {KEY_VARIABLE} = ?", [archive_parquet_key(key)])
    try:
        connection.execute(f"pragma add_parquet_key({sql_string(name)}, getvariable('{KEY_VARIABLE}'))")
    finally:
        connection.execute(f"reset variable {KEY_VARIABLE}")
