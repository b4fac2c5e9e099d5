"""The operations domain: scheduled backups with retention, and archival by tenants' retention."""

from dagster import Definitions

from orchestration.defs.ops.jobs import scheduled_archive_job, scheduled_backup_job
from orchestration.defs.ops.resources import ArchiveResource, BackupResource
from orchestration.defs.ops.schedules import nightly_archive, nightly_backup

defs = Definitions(
    jobs=[scheduled_backup_job, scheduled_archive_job],
    schedules=[nightly_backup, nightly_archive],
    resources={"backups": BackupResource(), "archive": ArchiveResource()},
)
