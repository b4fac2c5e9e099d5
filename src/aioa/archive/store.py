"""The archive's file system: the configured folder or fsspec URL, seen by DuckDB as `aioaarchive://`.

Writers (the archive run, the privacy delete) get it writable; readers get it read-only, so a reader's `COPY` can
never plant rows in the archive, and `..` cannot leave it. One protocol name for both: the snapshot's archive view
names `aioaarchive://…` and works wherever the archive lives.

With a warehouse key configured the archive's files are encrypted (DuckDB's Parquet encryption, the key derived from
the warehouse key by `aioa.warehouse.encryption.archive_parquet_key`): `register` adds the key to the connection and
every `read_parquet`/`COPY` of the archive carries `read_options`/`copy_options`. DuckDB reads one scan's files
either all encrypted or all plain, so the archive is never mixed: plain files left from before the key are
encrypted on the next snapshot publication or rekey (`aioa.archive.rekey`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aioa.settings import Settings
from aioa.warehouse.encryption import ARCHIVE_KEY_NAME, add_archive_key, warehouse_key

if TYPE_CHECKING:
    from aioa.archive.filesystem import ArchiveFileSystem

PROTOCOL = "aioaarchive"
# What the archive's scans and copies add when it is encrypted (the key's name, never the key).
_READ_ENCRYPTED = ", encryption_config = {{footer_key: '{name}'}}"
_COPY_ENCRYPTED = ", encryption_config {{footer_key: '{name}'}}"


@dataclass(frozen=True)
class ArchivedTable:
    """A warehouse table whose rows past an org's retention move to `<archive>/<schema>/<table>/org=/month=/`."""

    table: str  # schema.table in the warehouse
    key: str  # unique across orgs: a row is in the warehouse or in the archive, and the warehouse's copy wins
    day: str  # the row's day, as SQL over the table aliased `t`
    retention: str  # the field of the org's `retention` settings that says how many days stay

    @property
    def directory(self) -> str:
        return self.table.replace(".", "/")

    @property
    def glob(self) -> str:
        return f"{PROTOCOL}://{self.directory}/**/*.parquet"


# The one map of what is archived (identifiers in the archive's SQL come only from here). Calls and tool calls
# follow `calls_days`; their raw rows (the log lines as loaded) follow `raw_rows_days`. Aggregates are never
# archived, and neither are handoffs, quarantine and the ingest bookkeeping.
CALLS = ArchivedTable("marts.fct_llm_calls", "call_key", "t.day", "calls_days")
TOOL_CALLS = ArchivedTable("marts.fct_tool_calls", "tool_call_key", "t.day", "calls_days")
RAW_CALLS = ArchivedTable("raw.llm_calls", "call_key", "cast(t.ts_utc as date)", "raw_rows_days")
RAW_TOOL_CALLS = ArchivedTable("raw.tool_calls", "tool_call_key", "cast(t.ts_utc as date)", "raw_rows_days")
ARCHIVED_TABLES = {spec.table: spec for spec in (CALLS, TOOL_CALLS, RAW_CALLS, RAW_TOOL_CALLS)}
RAW_TABLES = {spec.table: spec for spec in (RAW_CALLS, RAW_TOOL_CALLS)}
CALLS_DIR = CALLS.directory  # <archive>/marts/fct_llm_calls/org=<org>/month=<YYYY-MM>/*.parquet
CALLS_GLOB = CALLS.glob


def archive_filesystem(settings: Settings, *, writable: bool) -> ArchiveFileSystem:
    """The archive root of `settings` (AIOA_ARCHIVE_URL, default <home>/archive) as a file system."""
    import fsspec

    from aioa.archive.filesystem import ArchiveFileSystem, ReadOnlyArchiveFileSystem

    target, root = fsspec.core.url_to_fs(settings.resolved_archive_url)
    kind = ArchiveFileSystem if writable else ReadOnlyArchiveFileSystem
    # skip_instance_cache: fsspec would otherwise hand a reader the writer's (writable) instance of the same root
    return kind(path=root, fs=target, skip_instance_cache=True)


def local_archive_folder(settings: Settings) -> Path | None:
    """The archive's folder when AIOA_ARCHIVE_URL is a plain local path (the default <home>/archive), as fsspec would
    resolve it; None for anything with a colon (`s3://…`, `file://…`, chained `…::…`), which fsspec resolves."""
    url = settings.resolved_archive_url
    return None if ":" in url else Path(url).expanduser()


def holds_any_table(archive: ArchiveFileSystem | Path) -> bool:
    """Whether the archive (its file system, or its local folder) has a folder for any archived table (nothing was
    ever archived otherwise)."""
    exists = (lambda path: (archive / path).exists()) if isinstance(archive, Path) else archive.exists
    return any(exists(spec.directory) for spec in ARCHIVED_TABLES.values())


def has_archived_rows(filesystem: ArchiveFileSystem, spec: ArchivedTable) -> bool:
    return bool(filesystem.glob(f"{spec.directory}/**/*.parquet"))


def archived_files(filesystem: ArchiveFileSystem, spec: ArchivedTable, orgs: list[str]) -> list[str]:
    """The Parquet files of `spec` the archive holds for `orgs`, as `aioaarchive://` URLs."""
    return [
        f"{PROTOCOL}://{path}"
        for org_id in orgs
        for path in sorted(filesystem.glob(f"{spec.directory}/org={org_id}/month=*/*.parquet"))
    ]


def register(connection, filesystem: ArchiveFileSystem, key: str | None = None) -> None:
    """Make `aioaarchive://` readable (or writable) on `connection`'s database (once per database instance), and
    its files readable with the warehouse key `key` (the configured one: `warehouse_key(settings)`; None: plain)."""
    if not connection.filesystem_is_registered(PROTOCOL):
        connection.register_filesystem(filesystem)
    add_archive_key(connection, key)


def read_options(encrypted: bool, key_name: str = ARCHIVE_KEY_NAME) -> str:
    """What a `read_parquet(...)` of the archive adds after its other options: the name of the key its files are
    encrypted with when the archive is encrypted (a warehouse key is configured), else nothing."""
    return _READ_ENCRYPTED.format(name=key_name) if encrypted else ""


def copy_options(encrypted: bool) -> str:
    """What a `COPY ... TO 'aioaarchive://…' (format parquet, …)` adds after its other options (see read_options)."""
    return _COPY_ENCRYPTED.format(name=ARCHIVE_KEY_NAME) if encrypted else ""


def is_encrypted(settings: Settings) -> bool:
    """Whether the archive of `settings` is (to be) encrypted: a warehouse key is configured."""
    return warehouse_key(settings) is not None


def settings_read_options(settings: Settings) -> str:
    """`read_options` for the archive of `settings`."""
    return read_options(is_encrypted(settings))
