"""A daily pipeline run, in case the sensor is off. Running by default: `dagster dev` starts it with the UI."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.defs.ingest.jobs import usage_pipeline

daily_ingest = ScheduleDefinition(
    job=usage_pipeline,
    cron_schedule="15 2 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
