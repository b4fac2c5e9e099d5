"""A daily ingestion run, in case the sensor is off."""

from dagster import ScheduleDefinition

from orchestration.defs.ingest.sensors import ingest_job

daily_ingest = ScheduleDefinition(job=ingest_job, cron_schedule="15 2 * * *", execution_timezone="UTC")
