"""The backup job: one op (not an asset: the pipeline job selects every asset, and a backup is no data product)."""

from dagster import MetadataValue, OpExecutionContext, job, op

from aioa.ops.retention import scheduled_backup
from orchestration.defs.ops.resources import ArchiveResource, BackupResource

BACKUP_TAGS = {"aioa/backup": "scheduled"}  # a run queue allows one at a time (deploy/dagster/dagster.yaml)


@op(description="Back up AIOA_HOME to AIOA_BACKUP_DIR and prune by retention (N daily, M weekly).", tags=BACKUP_TAGS)
def backup_home(context: OpExecutionContext, backups: BackupResource) -> dict:
    result = scheduled_backup(backups.settings())
    context.add_output_metadata(
        {
            "path": result.path,
            "files": result.files,
            "bytes": result.bytes,
            "seconds": result.seconds,
            "kept": MetadataValue.json(result.kept),
            "deleted": MetadataValue.json(result.deleted),
        }
    )
    return result.to_dict()


@job(description="Consistent, checksummed backup of AIOA_HOME with retention.", tags=BACKUP_TAGS)
def scheduled_backup_job() -> None:
    backup_home()


@op(
    description="Move calls and tool calls past each org's `retention.calls_days`, and their raw rows past "
    "`retention.raw_rows_days`, to the Parquet archive."
)
def archive_calls(context: OpExecutionContext, archive: ArchiveResource) -> dict:
    from aioa.archive.run import archive_run

    report = archive_run(archive.settings())
    context.add_output_metadata(
        {
            "archive_url": report.archive_url,
            "calls": MetadataValue.json(report.calls),
            "rows": MetadataValue.json(report.rows),
            "cutoffs": MetadataValue.json(report.cutoffs),
            "partitions_written": len(report.partitions_written),
        }
    )
    return report.to_dict()


@job(
    description="Archival by retention: old calls, tool calls and raw rows to Hive-partitioned Parquet, still queryable."
)
def scheduled_archive_job() -> None:
    archive_calls()
