"""The archive in the read path: in the snapshot, each archived table (`ARCHIVED_TABLES`: calls, tool calls and
their raw rows) becomes the warehouse's rows plus the archive's, and every reader may read (only) the archive.

Readers are locked down (`connect_reader`: no file or network access, configuration frozen), so the archive is
made part of the snapshot at publish: the snapshot's copy of a table is renamed `<table>_retained` and a view of
the same name unions it with the archive's Parquet files (`read_parquet(..., hive_partitioning = true)` over
`aioaarchive://`). Before locking, a reader registers the archive as a read-only fsspec file system and allows
only that protocol (`allowed_directories`); external access is then switched off as before. A row both in the
warehouse and in the archive (a full refresh rebuilt it before the next archive run) is counted once: the
warehouse's row wins. `marts.archive_ranges` says, per org, which days of calls the archive holds.

Every reader of these tables sees archived rows: the marts' readers (app, API, Ask, reports), and the readers of
raw rows (the usage reports, billing, rules, doctor). Handoffs, quarantine and the ingest bookkeeping are never
archived.

With a warehouse key configured the archive's files are encrypted: the views read them with the key's name
(`aioa.archive.store.read_options`), a reader adds the key before its configuration is locked, and publication
first encrypts any plain file left from before the key (`aioa.archive.rekey.encrypt_plain_files`), so the views
never meet one. `aioa warehouse rekey` writes the views again when the archive changes key (`write_archive_views`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from aioa.archive.store import (
    ARCHIVED_TABLES,
    CALLS,
    PROTOCOL,
    ArchivedTable,
    archive_filesystem,
    has_archived_rows,
    holds_any_table,
    local_archive_folder,
    read_options,
    register,
)
from aioa.settings import Settings, get_settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.encryption import open_database, warehouse_key

# Templates: identifiers from ARCHIVED_TABLES only; the encryption option from aioa.archive.store (a constant).
_VIEW = """
create or replace view {table} as
select * from {table}_retained
union all by name
select * exclude (org, month)
from read_parquet('{glob}', hive_partitioning = true, hive_types_autocast = false{read}) as archived
where not exists (select 1 from {table}_retained as retained where retained.{key} = archived.{key})
"""
_ARCHIVE_RANGES = """
create or replace table marts.archive_ranges as
select org_id, min(day) as first_day, max(day) as last_day, count(*) as calls
from read_parquet('aioaarchive://marts/fct_llm_calls/**/*.parquet', hive_partitioning = true,
                  hive_types_autocast = false{read})
group by org_id
"""
# Per archived table and org, the days its archive holds (what a report reading that table says comes from it).
_TABLE_RANGES = """
select '{table}' as table_name, t.org_id, min({day}) as first_day, max({day}) as last_day, count(*) as row_count
from read_parquet('{glob}', hive_partitioning = true, hive_types_autocast = false{read}) as t
group by t.org_id
"""
_TABLES = (
    "select schema_name || '.' || table_name, table_name from duckdb_tables() where database_name = current_database()"
)


def _sql(template: str, spec: ArchivedTable, encrypted: bool) -> str:
    return template.format(table=spec.table, key=spec.key, glob=spec.glob, day=spec.day, read=read_options(encrypted))


def _nothing_archived_locally(settings: Settings) -> bool:
    """The archive is a local folder without a folder for any archived table: known without fsspec (~20 ms)."""
    folder = local_archive_folder(settings)
    return folder is not None and not holds_any_table(folder)


def add_archive_to_snapshot(settings: Settings, snapshot: Path) -> bool:
    """Union the archive into the (not yet published) snapshot file. False when there is nothing archived."""
    if _nothing_archived_locally(settings):
        return False
    filesystem = archive_filesystem(settings, writable=False)
    archived = [spec for spec in ARCHIVED_TABLES.values() if has_archived_rows(filesystem, spec)]
    if not archived:
        return False
    from aioa.archive.rekey import encrypt_plain_archive

    encrypt_plain_archive(settings)  # a plain file from before the key: encrypted now, or the views could not read it
    key = warehouse_key(settings)
    connection = open_database(snapshot, settings, config={"memory_limit": settings.duckdb_memory_limit})
    try:
        register(connection, filesystem, key)
        tables = {row[0] for row in connection.execute(_TABLES).fetchall()}
        archived = [spec for spec in archived if spec.table in tables]
        for spec in archived:
            connection.execute(f"alter table {spec.table} rename to {spec.table.split('.')[1]}_retained")
        write_archive_views(connection, key is not None)
        connection.execute("checkpoint")
    finally:
        connection.close()
    return bool(archived)


def write_archive_views(connection: duckdb.DuckDBPyConnection, encrypted: bool) -> None:
    """In the snapshot that is `connection`'s current database (its tables already renamed `<table>_retained`):
    (re)create each archived table's view over the archive and the tables of archived ranges, reading the archive
    encrypted or not. The archive must be registered on `connection` (with its key)."""
    tables = {row[0] for row in connection.execute(_TABLES).fetchall()}
    archived = [spec for spec in ARCHIVED_TABLES.values() if f"{spec.table}_retained" in tables]
    for spec in archived:
        connection.execute(_sql(_VIEW, spec, encrypted))
    if CALLS in archived:
        connection.execute(_ARCHIVE_RANGES.format(read=read_options(encrypted)))
    if archived:
        ranges = " union all ".join(_sql(_TABLE_RANGES, spec, encrypted) for spec in archived)
        connection.execute("create or replace table marts.archive_table_ranges as " + ranges)


def snapshot_to_warehouse(path: Path, settings: Settings | None = None) -> None:
    """Undo `add_archive_to_snapshot` in a copy of a snapshot that becomes the working warehouse (a restore): the
    tables take their names back and the archive stays in the archive (dbt builds on tables, not on views)."""
    connection = open_database(path, settings or get_settings())
    try:
        tables = {row[0] for row in connection.execute(_TABLES).fetchall()}
        for spec in ARCHIVED_TABLES.values():
            if f"{spec.table}_retained" in tables:
                connection.execute(f"drop view {spec.table}")
                connection.execute(f"alter table {spec.table}_retained rename to {spec.table.split('.')[1]}")
        connection.execute("drop table if exists marts.archive_ranges")
        connection.execute("drop table if exists marts.archive_table_ranges")
        connection.execute("checkpoint")
    finally:
        connection.close()


def allow_archive(connection: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """On a reader not yet locked: register the archive read-only and allow only it. Call before external access
    is switched off (DuckDB refuses to change `allowed_directories` after)."""
    if _nothing_archived_locally(settings):
        return
    filesystem = archive_filesystem(settings, writable=False)
    if not holds_any_table(filesystem):
        return
    register(connection, filesystem, warehouse_key(settings))  # the key: the archive's views read with it
    connection.execute("set allowed_directories = ['aioaarchive://']")


def archived_ranges(connection, scope: TenantScope, table: str | None = None) -> list[tuple]:
    """(org_id, first_day, last_day, calls) the archive holds for the orgs `scope` may read; [] when nothing is
    archived (or the snapshot predates archival). What the app shows as "from the archive". With `table` (one of
    ARCHIVED_TABLES, e.g. `raw.llm_calls`, which the usage reports read): that table's archived days and rows."""
    name = "archive_ranges" if table is None else "archive_table_ranges"
    exists = connection.execute(
        # information_schema, not duckdb_tables(): the reader may be PostgreSQL (server mode), and pg_dialect
        # translates information_schema to the deployment's own (prefixed) schemas.
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = $name",
        {"name": name},
    ).fetchall()[0][0]
    if not exists:
        return []
    where, params = scope.filter_sql()
    if table is None:
        sql = "select org_id, first_day, last_day, calls from marts.archive_ranges where " + where + " order by org_id"
        return connection.execute(sql, params).fetchall()
    sql = (
        "select org_id, first_day, last_day, row_count from marts.archive_table_ranges where table_name = $table and "
        + where
        + " order by org_id"
    )
    return connection.execute(sql, {**params, "table": table}).fetchall()


__all__ = ["PROTOCOL", "add_archive_to_snapshot", "allow_archive", "archived_ranges"]
