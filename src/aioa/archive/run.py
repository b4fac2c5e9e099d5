"""`aioa archive run`: calls past each org's retention (`retention.calls_days`) move from the warehouse's
`marts.fct_llm_calls` to `<archive>/marts/fct_llm_calls/org=<org>/month=<YYYY-MM>/` as Parquet.

Set-based, on the writer connection (the warehouse's writer lock) and in one transaction: the rows to move, merged
with the archive partitions they land in (a call already archived is replaced by the moving version, so a re-run
or a rebuild never counts a call twice), are written with one `COPY ... (PARTITION_BY (org, month))` to a staging
folder; the rows are deleted from the warehouse; the staged partitions replace the archive's; then the transaction
commits and a snapshot is published (which unions the archive, see `aioa.archive.snapshot`). A failure before the
commit rolls the delete back; one between the swap and the commit leaves a call in both places, which readers
count once and the next run settles.

Raw rows stay in the warehouse (`raw.llm_calls`): every rebuild starts from them. The aggregates are never
archived: they keep the whole history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import pyarrow as pa

from aioa.archive.store import CALLS_DIR, archive_filesystem, register
from aioa.settings import Settings

STAGING = ".staging"
_STAGED_CALLS = f"{STAGING}/{CALLS_DIR}"


class ArchiveError(RuntimeError):
    pass


@dataclass
class ArchiveReport:
    archive_url: str
    dry_run: bool
    cutoffs: dict[str, str] = field(default_factory=dict)  # org -> calls before this day move
    calls: dict[str, int] = field(default_factory=dict)  # org -> calls moved (or that would move)
    partitions_written: list[str] = field(default_factory=list)
    snapshot_version: str | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "total_calls": sum(self.calls.values())}


_MOVING_BY_CUTOFF = """
create or replace temp table archive_moving as
select calls.*, calls.org_id as org, strftime(calls.day, '%Y-%m') as month
from marts.fct_llm_calls as calls
inner join archive_cutoffs as cutoffs on cutoffs.org_id = calls.org_id
where calls.day < cutoffs.archive_before
"""
_MOVING_ARCHIVED_KEYS = """
create or replace temp table archive_moving as
select calls.*, calls.org_id as org, strftime(calls.day, '%Y-%m') as month
from marts.fct_llm_calls as calls
where list_contains($orgs, calls.org_id)
  and calls.call_key in (
      select call_key from read_parquet($files, hive_partitioning = true, hive_types_autocast = false)
  )
"""
_MERGED_WITH_ARCHIVE = """
create or replace temp table archive_merged as
select * from archive_moving
union all by name
select * from read_parquet($files, hive_partitioning = true, hive_types_autocast = false) as archived
where not exists (select 1 from archive_moving as moving where moving.call_key = archived.call_key)
"""
_COUNT_BY_ORG = "select org_id, count(*) from archive_moving group by org_id order by org_id"
_COPY_STAGED = (
    "copy archive_merged to 'aioaarchive://.staging/marts/fct_llm_calls' "
    "(format parquet, partition_by (org, month), compression zstd)"
)
_DELETE_MOVED = "delete from marts.fct_llm_calls where call_key in (select call_key from archive_moving)"
_HAS_CALLS = (
    "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'fct_llm_calls'"
    " and database_name = current_database()"
)


def archive_run(settings: Settings, *, org: str | None = None, dry_run: bool = False, today: date | None = None):
    """Move calls past each org's retention to the archive (every org with calls, or only `org`)."""
    report = ArchiveReport(archive_url=settings.resolved_archive_url, dry_run=dry_run)
    connection = _writer(settings)
    if connection is None:
        return report
    try:
        orgs = [org] if org else [row[0] for row in connection.execute(_ORGS).fetchall()]
        today = today or datetime.now(UTC).date()
        for org_id in orgs:
            days = _calls_days(settings, org_id)
            if days is not None:
                report.cutoffs[org_id] = (today - timedelta(days=days)).isoformat()
        if not report.cutoffs:
            return report
        cutoffs = pa.table(
            {
                "org_id": list(report.cutoffs),
                "archive_before": [date.fromisoformat(day) for day in report.cutoffs.values()],
            }
        )
        connection.register("archive_cutoffs", cutoffs)
        connection.begin()
        try:
            connection.execute(_MOVING_BY_CUTOFF)
            report.calls = dict(connection.execute(_COUNT_BY_ORG).fetchall())
            if dry_run or not report.calls:
                connection.rollback()
                return report
            report.partitions_written = _move(settings, connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        connection.execute("checkpoint")
    finally:
        connection.close()
    report.snapshot_version = _publish(settings)
    return report


def rewrite_archived_calls(settings: Settings, orgs: list[str]) -> dict:
    """After a privacy delete rebuilt the marts from raw (pseudonymised, and holding every call again): each
    archived call of `orgs` is replaced by its rebuilt version and leaves the warehouse again. Only the archive
    partitions of those orgs are rewritten. Returns the calls rewritten and those the warehouse no longer had
    (left as they were, and named so an operator can look)."""
    result: dict = {"calls_rewritten": 0, "calls_not_rebuilt": 0, "partitions_written": [], "snapshot_version": None}
    filesystem = archive_filesystem(settings, writable=True)
    files = _archived_files(filesystem, orgs)
    if not files or not orgs:
        return result
    connection = _writer(settings)
    if connection is None:
        return result
    try:
        register(connection, filesystem)
        connection.begin()
        try:
            connection.execute(_MOVING_ARCHIVED_KEYS, {"orgs": orgs, "files": files})
            result["calls_rewritten"] = connection.execute("select count(*) from archive_moving").fetchall()[0][0]
            archived = connection.execute(
                "select count(*) from read_parquet($files, hive_partitioning = true)", {"files": files}
            ).fetchall()[0][0]
            result["calls_not_rebuilt"] = archived - result["calls_rewritten"]
            if result["calls_rewritten"]:
                result["partitions_written"] = _move(settings, connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        connection.execute("checkpoint")
    finally:
        connection.close()
    if result["calls_rewritten"]:
        result["snapshot_version"] = _publish(settings)
    return result


_ORGS = "select distinct org_id from marts.fct_llm_calls order by org_id"


def _writer(settings: Settings):
    if settings.warehouse != "duckdb":
        raise ArchiveError("archival works on the DuckDB warehouse; PostgreSQL mode is not supported yet")
    if not settings.warehouse_path.exists():
        return None
    from aioa.warehouse import connect

    connection = connect(settings)
    if not connection.execute(_HAS_CALLS).fetchall()[0][0]:
        connection.close()
        return None
    register(connection, archive_filesystem(settings, writable=True))
    return connection


def _move(settings: Settings, connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Inside the caller's transaction: merge `archive_moving` into its partitions, stage them, delete the moved
    calls from the warehouse, swap the staged partitions in. Returns the partitions written."""
    filesystem = archive_filesystem(settings, writable=True)
    partitions = connection.execute("select distinct org, month from archive_moving order by 1, 2").fetchall()
    files = [
        path
        for org_id, month in partitions
        for path in filesystem.glob(f"{CALLS_DIR}/org={org_id}/month={month}/*.parquet")
    ]
    if files:
        connection.execute(_MERGED_WITH_ARCHIVE, {"files": [f"aioaarchive://{path}" for path in files]})
    else:
        connection.execute("create or replace temp table archive_merged as select * from archive_moving")
    if filesystem.exists(STAGING):
        filesystem.rm(STAGING, recursive=True)
    connection.execute(_COPY_STAGED)
    connection.execute(_DELETE_MOVED)
    written = []
    for staged in sorted(filesystem.glob(f"{_STAGED_CALLS}/org=*/month=*")):
        relative = staged.split(f"{_STAGED_CALLS}/", 1)[1]
        target = f"{CALLS_DIR}/{relative}"
        if filesystem.exists(target):
            filesystem.rm(target, recursive=True)
        filesystem.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        filesystem.mv(staged, target, recursive=True)
        written.append(relative)
    filesystem.rm(STAGING, recursive=True)
    return written


def _archived_files(filesystem, orgs: list[str]) -> list[str]:
    return [
        f"aioaarchive://{path}"
        for org_id in orgs
        for path in sorted(filesystem.glob(f"{CALLS_DIR}/org={org_id}/month=*/*.parquet"))
    ]


def _calls_days(settings: Settings, org_id: str) -> int | None:
    from aioa.tenants.settings_doc import tenant_settings

    return tenant_settings(settings, org_id).retention.calls_days


def _publish(settings: Settings) -> str:
    from aioa.warehouse.snapshots import publish_snapshot

    return publish_snapshot(settings)
