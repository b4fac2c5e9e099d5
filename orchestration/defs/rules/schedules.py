"""Rules with schedules, SLA and metric thresholds are judged every five minutes (a cron trigger's ticks in between
are caught up at the next run)."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from orchestration.defs.rules.jobs import SOURCE_TAG, evaluate_rules


@schedule(
    job=evaluate_rules,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Evaluate every enabled rule and retry due webhook deliveries every five minutes.",
)
def rules_every_five_minutes(context: ScheduleEvaluationContext):
    return RunRequest(tags={SOURCE_TAG: "schedule"})
