"""`aioa archive run`: rows past each org's retention move from the warehouse to
`<archive>/<schema>/<table>/org=<org>/month=<YYYY-MM>/` as Parquet, for every table of `ARCHIVED_TABLES`
(`aioa.archive.store`): calls and tool calls (`marts.fct_llm_calls`, `marts.fct_tool_calls`) after
`retention.calls_days`, their raw rows (`raw.llm_calls`, `raw.tool_calls`) after `retention.raw_rows_days`.

Set-based, on the writer connection (the warehouse's writer lock) and in one transaction for every table: the rows
to move, merged with the archive partitions they land in (a row already archived is replaced by the moving
version, so a re-run or a rebuild never counts a row twice), are written with one `COPY ... (PARTITION_BY (org,
month))` per table to a staging folder; the rows are deleted from the warehouse; the staged partitions replace the
archive's; then the transaction commits and a snapshot is published (which unions the archive, see
`aioa.archive.snapshot`). With a warehouse key configured every file is written encrypted and read with the key
(`aioa.archive.store.read_options`); a plain file left from before the key is encrypted before it is read. A failure before the commit rolls every delete back; one between a swap and the commit
leaves rows in both places, which readers count once and the next run settles.

The aggregates are never archived: they keep the whole history. dbt reads the archived raw rows and facts where a
rebuild needs them (the `with_archive` macro), so a full refresh still starts from every raw row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import pyarrow as pa

from aioa.archive.rekey import encrypt_plain_files
from aioa.archive.store import (
    ARCHIVED_TABLES,
    CALLS,
    PROTOCOL,
    ArchivedTable,
    archive_filesystem,
    archived_files,
    copy_options,
    local_archive_folder,
    read_options,
)
from aioa.archive.store import register as register_archive
from aioa.settings import Settings
from aioa.warehouse.encryption import warehouse_key

STAGING = ".staging"


class ArchiveError(RuntimeError):
    pass


@dataclass
class ArchiveReport:
    archive_url: str
    dry_run: bool
    cutoffs: dict[str, str] = field(default_factory=dict)  # org -> calls before this day move (calls_days)
    raw_cutoffs: dict[str, str] = field(default_factory=dict)  # org -> raw rows before this day move (raw_rows_days)
    calls: dict[str, int] = field(default_factory=dict)  # org -> calls moved (or that would move)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> org -> rows moved (or that would)
    partitions_written: list[str] = field(default_factory=list)  # <schema>/<table>/org=…/month=…
    snapshot_version: str | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "total_calls": sum(self.calls.values())}


# Templates: identifiers come only from ARCHIVED_TABLES (a fixed map), the encryption options from
# aioa.archive.store (the key's name, a constant); days, orgs and files are bound.
_MOVING_BY_CUTOFF = """
create or replace temp table archive_moving as
select t.*, t.org_id as org, strftime({day}, '%Y-%m') as month
from {table} as t
inner join archive_cutoffs as cutoffs on cutoffs.org_id = t.org_id
where {day} < cutoffs.archive_before
"""
_MOVING_ARCHIVED_KEYS = """
create or replace temp table archive_moving as
select t.*, t.org_id as org, strftime({day}, '%Y-%m') as month
from {table} as t
where list_contains($orgs, t.org_id)
  and t.{key} in (select {key} from read_parquet($files, hive_partitioning = true, hive_types_autocast = false{read}))
"""
_MERGED_WITH_ARCHIVE = """
create or replace temp table archive_merged as
select * from archive_moving
union all by name
select * from read_parquet($files, hive_partitioning = true, hive_types_autocast = false{read}) as archived
where not exists (select 1 from archive_moving as moving where moving.{key} = archived.{key})
"""
_COPY_STAGED = (
    "copy archive_merged to 'aioaarchive://.staging/{directory}' "
    "(format parquet, partition_by (org, month), compression zstd{copy})"
)
_COUNT_ARCHIVED = "select count(*) from read_parquet($files, hive_partitioning = true{read})"
_DELETE_MOVED = "delete from {table} where {key} in (select {key} from archive_moving)"
_COUNT_BY_ORG = "select org_id, count(*) from archive_moving group by org_id order by org_id"
_TABLES = "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database()"
_ORGS = (
    "select org_id from marts.fct_llm_calls union select org_id from raw.llm_calls union "
    "select org_id from raw.tool_calls order by 1"
)


def _sql(template: str, spec: ArchivedTable, encrypted: bool = False) -> str:
    return template.format(
        table=spec.table,
        key=spec.key,
        day=spec.day,
        directory=spec.directory,
        read=read_options(encrypted),
        copy=copy_options(encrypted),
    )


def archive_run(settings: Settings, *, org: str | None = None, dry_run: bool = False, today: date | None = None):
    """Move the rows past each org's retention to the archive (every org with calls, or only `org`)."""
    report = ArchiveReport(archive_url=settings.resolved_archive_url, dry_run=dry_run)
    connection = _writer(settings)
    if connection is None:
        return report
    try:
        orgs = [org] if org else [row[0] for row in connection.execute(_ORGS).fetchall() if row[0] is not None]
        today = today or datetime.now(UTC).date()
        cutoffs = {"calls_days": report.cutoffs, "raw_rows_days": report.raw_cutoffs}
        for org_id in orgs:
            retention = _retention(settings, org_id)
            for name, by_org in cutoffs.items():
                days = getattr(retention, name)
                if days is not None:
                    by_org[org_id] = (today - timedelta(days=days)).isoformat()
        specs = [
            spec for spec in ARCHIVED_TABLES.values() if cutoffs[spec.retention] and spec.table in _tables(connection)
        ]
        if not specs:
            return report
        connection.begin()
        try:
            for spec in specs:
                _register_cutoffs(connection, cutoffs[spec.retention])
                connection.execute(_sql(_MOVING_BY_CUTOFF, spec))
                moving = dict(connection.execute(_COUNT_BY_ORG).fetchall())
                if moving:
                    report.rows[spec.table] = moving
                if moving and not dry_run:
                    report.partitions_written += _move(settings, connection, spec)
            report.calls = report.rows.get(CALLS.table, {})
            if dry_run or not report.rows:
                connection.rollback()
                return report
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        connection.execute("checkpoint")
    finally:
        connection.close()
    report.snapshot_version = _publish(settings)
    return report


def rewrite_archived(settings: Settings, orgs: list[str]) -> dict:
    """After a privacy delete pseudonymised raw (with the archived raw rows of `orgs` brought back, see
    `restore_archived_raw`) and rebuilt the marts from it: each archived row of `orgs`, in every archived table, is
    replaced by its warehouse version and leaves the warehouse again. Only those orgs' partitions are rewritten.
    Returns per table the rows rewritten and those the warehouse no longer had (left as they were, and counted so
    an operator can look)."""
    result: dict = {"rows_rewritten": {}, "rows_not_rebuilt": {}, "partitions_written": [], "snapshot_version": None}
    filesystem = archive_filesystem(settings, writable=True)
    files = {table: archived_files(filesystem, spec, orgs) for table, spec in ARCHIVED_TABLES.items()}
    if not orgs or not any(files.values()):
        return result
    connection = _writer(settings)
    if connection is None:
        return result
    encrypted = warehouse_key(settings) is not None
    try:
        connection.begin()
        try:
            for table, spec in ARCHIVED_TABLES.items():
                if not files[table] or table not in _tables(connection):
                    continue
                encrypt_plain_files(connection, settings, files[table])
                connection.execute(_sql(_MOVING_ARCHIVED_KEYS, spec, encrypted), {"orgs": orgs, "files": files[table]})
                rewritten = connection.execute("select count(*) from archive_moving").fetchall()[0][0]
                archived = connection.execute(
                    _sql(_COUNT_ARCHIVED, spec, encrypted), {"files": files[table]}
                ).fetchall()[0][0]
                result["rows_rewritten"][table] = rewritten
                result["rows_not_rebuilt"][table] = archived - rewritten
                if rewritten:
                    result["partitions_written"] += _move(settings, connection, spec)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        connection.execute("checkpoint")
    finally:
        connection.close()
    if result["partitions_written"]:
        result["snapshot_version"] = _publish(settings)
    return result


_RESTORE_RAW = """
insert into {table} by name
select * exclude (org, month)
from read_parquet($files, hive_partitioning = true, hive_types_autocast = false{read}) as archived
where not exists (select 1 from {table} as t where t.{key} = archived.{key})
"""


def restore_archived_raw(connection: duckdb.DuckDBPyConnection, settings: Settings, orgs: list[str]) -> dict[str, int]:
    """Inside the caller's transaction: copy the archived raw rows of `orgs` back into their raw tables (rows the
    warehouse already holds are kept as they are). The privacy delete pseudonymises them there with the rest, and
    `rewrite_archived` then moves them back. Returns the rows brought back per table."""
    from aioa.archive.store import RAW_TABLES

    filesystem = archive_filesystem(settings, writable=True)  # a writer's database: the writer's registration
    key = warehouse_key(settings)
    restored: dict[str, int] = {}
    for table, spec in RAW_TABLES.items():
        files = archived_files(filesystem, spec, orgs)
        if files:
            register_archive(connection, filesystem, key)
            encrypt_plain_files(connection, settings, files)
            sql = _sql(_RESTORE_RAW, spec, key is not None)
            restored[table] = connection.execute(sql, {"files": files}).fetchall()[0][0]
    return restored


_STAGED_PARTITIONS = (
    "select distinct t.org_id, strftime({day}, '%Y-%m') from stage_{name} as t where t.org_id is not null"
)


def archived_files_for_stage(connection: duckdb.DuckDBPyConnection, settings: Settings, table: str) -> list[str]:
    """For an ingest batch staged in `stage_<table>` (a raw table): the archive's files of the partitions (org,
    month) its rows fall in, registered on `connection`; [] when the table is not archived or nothing is there.
    The merge counts the keys in them as stored, so a file read again never brings archived lines back (read with
    `aioa.archive.store.read_options`; plain files are encrypted first when a key is configured)."""
    spec = ARCHIVED_TABLES.get(f"raw.{table}")
    if spec is None:
        return []
    local = local_archive_folder(settings)
    if local is not None and not (local / spec.directory).exists():
        return []  # nothing of this table was ever archived: no file system (fsspec) needed
    filesystem = archive_filesystem(settings, writable=True)  # a writer's database: the writer's registration
    if not filesystem.exists(spec.directory):
        return []
    sql = _STAGED_PARTITIONS.format(day=spec.day, name=spec.table.split(".")[1])  # from the map
    files = [
        f"{PROTOCOL}://{path}"
        for org_id, month in connection.execute(sql).fetchall()
        for path in sorted(filesystem.glob(f"{spec.directory}/org={org_id}/month={month}/*.parquet"))
    ]
    if files:
        register_archive(connection, filesystem, warehouse_key(settings))
        encrypt_plain_files(connection, settings, files)
    return files


def _register_cutoffs(connection: duckdb.DuckDBPyConnection, cutoffs: dict[str, str]) -> None:
    table = pa.table({"org_id": list(cutoffs), "archive_before": [date.fromisoformat(day) for day in cutoffs.values()]})
    connection.register("archive_cutoffs", table)


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in connection.execute(_TABLES).fetchall()}


def _writer(settings: Settings):
    if settings.warehouse != "duckdb":
        raise ArchiveError("archival works on the DuckDB warehouse; PostgreSQL mode is not supported yet")
    if not settings.warehouse_path.exists():
        return None
    from aioa.warehouse import connect

    connection = connect(settings)
    if not {CALLS.table, "raw.llm_calls", "raw.tool_calls"} <= _tables(connection):
        connection.close()
        return None
    register_archive(connection, archive_filesystem(settings, writable=True), warehouse_key(settings))
    return connection


def _move(settings: Settings, connection: duckdb.DuckDBPyConnection, spec: ArchivedTable) -> list[str]:
    """Inside the caller's transaction: merge `archive_moving` into its partitions of `spec`, stage them, delete
    the moved rows from the warehouse, swap the staged partitions in. Returns the partitions written."""
    filesystem = archive_filesystem(settings, writable=True)
    encrypted = warehouse_key(settings) is not None
    partitions = connection.execute("select distinct org, month from archive_moving order by 1, 2").fetchall()
    files = [
        f"{PROTOCOL}://{path}"
        for org_id, month in partitions
        for path in filesystem.glob(f"{spec.directory}/org={org_id}/month={month}/*.parquet")
    ]
    if files:
        encrypt_plain_files(connection, settings, files)
        connection.execute(_sql(_MERGED_WITH_ARCHIVE, spec, encrypted), {"files": files})
    else:
        connection.execute("create or replace temp table archive_merged as select * from archive_moving")
    if filesystem.exists(STAGING):
        filesystem.rm(STAGING, recursive=True)
    connection.execute(_sql(_COPY_STAGED, spec, encrypted))
    connection.execute(_sql(_DELETE_MOVED, spec))
    staged_root = f"{STAGING}/{spec.directory}"
    written = []
    for staged in sorted(filesystem.glob(f"{staged_root}/org=*/month=*")):
        relative = staged.split(f"{staged_root}/", 1)[1]
        target = f"{spec.directory}/{relative}"
        if filesystem.exists(target):
            filesystem.rm(target, recursive=True)
        filesystem.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        filesystem.mv(staged, target, recursive=True)
        written.append(target)
    filesystem.rm(STAGING, recursive=True)
    return written


def _retention(settings: Settings, org_id: str):
    from aioa.tenants.settings_doc import tenant_settings

    return tenant_settings(settings, org_id).retention


def _publish(settings: Settings) -> str:
    from aioa.warehouse.snapshots import publish_snapshot

    return publish_snapshot(settings)
