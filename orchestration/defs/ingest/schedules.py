"""A daily pipeline run, in case the sensor is off."""

from dagster import ScheduleDefinition

from orchestration.defs.ingest.jobs import usage_pipeline

daily_ingest = ScheduleDefinition(job=usage_pipeline, cron_schedule="15 2 * * *", execution_timezone="UTC")
