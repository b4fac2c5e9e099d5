"""The ML domain's schedules: the router is retrained weekly (promoted only if better)."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.defs.ml.jobs import router_job

weekly_router_retraining = ScheduleDefinition(
    job=router_job,
    cron_schedule="0 4 * * 1",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
