"""The archive in the read path: the snapshot's `marts.fct_llm_calls` becomes the warehouse's rows plus the
archive's, and every reader may read (only) the archive.

Readers are locked down (`connect_reader`: no file or network access, configuration frozen), so the archive is
made part of the snapshot at publish: the snapshot's copy of the table is renamed `fct_llm_calls_retained` and a
view of the same name unions it with the archive's Parquet files (`read_parquet(..., hive_partitioning = true)`
over `aioaarchive://`). Before locking, a reader registers the archive as a read-only fsspec file system and
allows only that protocol (`allowed_directories`); external access is then switched off as before. A call both
in the warehouse and in the archive (a full refresh rebuilt it from raw before the next archive run) is counted
once: the warehouse's row wins. `marts.archive_ranges` says, per org, which days the archive holds.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from aioa.archive.store import CALLS_DIR, PROTOCOL, archive_filesystem, has_archived_calls, register
from aioa.settings import Settings, get_settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.encryption import open_database

_CALLS_VIEW = """
create view marts.fct_llm_calls as
select * from marts.fct_llm_calls_retained
union all by name
select * exclude (org, month)
from read_parquet('aioaarchive://marts/fct_llm_calls/**/*.parquet', hive_partitioning = true,
                  hive_types_autocast = false) as archived
where not exists (
    select 1 from marts.fct_llm_calls_retained as retained where retained.call_key = archived.call_key
)
"""
_ARCHIVE_RANGES = """
create or replace table marts.archive_ranges as
select org_id, min(day) as first_day, max(day) as last_day, count(*) as calls
from read_parquet('aioaarchive://marts/fct_llm_calls/**/*.parquet', hive_partitioning = true,
                  hive_types_autocast = false)
group by org_id
"""
_HAS_CALLS_TABLE = (
    "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'fct_llm_calls'"
    " and database_name = current_database()"
)


def add_archive_to_snapshot(settings: Settings, snapshot: Path) -> bool:
    """Union the archive into the (not yet published) snapshot file. False when there is nothing archived."""
    filesystem = archive_filesystem(settings, writable=False)
    if not has_archived_calls(filesystem):
        return False
    connection = open_database(snapshot, settings, config={"memory_limit": settings.duckdb_memory_limit})
    try:
        register(connection, filesystem)
        if not connection.execute(_HAS_CALLS_TABLE).fetchall()[0][0]:
            return False
        connection.execute("alter table marts.fct_llm_calls rename to fct_llm_calls_retained")
        connection.execute(_CALLS_VIEW)
        connection.execute(_ARCHIVE_RANGES)
        connection.execute("checkpoint")
    finally:
        connection.close()
    return True


def snapshot_to_warehouse(path: Path, settings: Settings | None = None) -> None:
    """Undo `add_archive_to_snapshot` in a copy of a snapshot that becomes the working warehouse (a restore): the
    table takes its name back and the archive stays in the archive (dbt builds on a table, not on the view)."""
    connection = open_database(path, settings or get_settings())
    try:
        retained = connection.execute(
            "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'fct_llm_calls_retained'"
        ).fetchall()[0][0]
        if retained:
            connection.execute("drop view marts.fct_llm_calls")
            connection.execute("alter table marts.fct_llm_calls_retained rename to fct_llm_calls")
            connection.execute("drop table if exists marts.archive_ranges")
            connection.execute("checkpoint")
    finally:
        connection.close()


def allow_archive(connection: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """On a reader not yet locked: register the archive read-only and allow only it. Call before external access
    is switched off (DuckDB refuses to change `allowed_directories` after)."""
    filesystem = archive_filesystem(settings, writable=False)
    if not filesystem.exists(CALLS_DIR):
        return
    register(connection, filesystem)
    connection.execute("set allowed_directories = ['aioaarchive://']")


def archived_ranges(connection, scope: TenantScope) -> list[tuple]:
    """(org_id, first_day, last_day, calls) the archive holds for the orgs `scope` may read; [] when nothing is
    archived (or the snapshot predates archival). What the app shows as "from the archive"."""
    exists = connection.execute(
        "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'archive_ranges'"
    ).fetchall()[0][0]
    if not exists:
        return []
    where, params = scope.filter_sql()
    sql = "select org_id, first_day, last_day, calls from marts.archive_ranges where " + where + " order by org_id"
    return connection.execute(sql, params).fetchall()


__all__ = ["PROTOCOL", "add_archive_to_snapshot", "allow_archive", "archived_ranges"]
