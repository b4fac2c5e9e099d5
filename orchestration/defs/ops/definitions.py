"""The operations domain: scheduled backups with retention."""

from dagster import Definitions

from orchestration.defs.ops.jobs import scheduled_backup_job
from orchestration.defs.ops.resources import BackupResource
from orchestration.defs.ops.schedules import nightly_backup

defs = Definitions(jobs=[scheduled_backup_job], schedules=[nightly_backup], resources={"backups": BackupResource()})
