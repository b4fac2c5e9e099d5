"""Probe the configured MCP servers every 10 minutes. A server is left alone with AIOA_MCP_PROBE_DISABLED."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.defs.mcp.jobs import mcp_probe_job

mcp_probe_schedule = ScheduleDefinition(
    job=mcp_probe_job,
    cron_schedule="*/10 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
