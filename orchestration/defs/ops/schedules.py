"""A nightly backup, after the nightly pipeline run (02:15 UTC). Off until turned on (it needs AIOA_BACKUP_DIR)."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.defs.ops.jobs import scheduled_archive_job, scheduled_backup_job

nightly_backup = ScheduleDefinition(
    name="nightly_backup",
    job=scheduled_backup_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
)

# Archival by retention, between the nightly pipeline run and the backup; off until turned on.
nightly_archive = ScheduleDefinition(
    name="nightly_archive",
    job=scheduled_archive_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
)
