"""The MCP domain's definitions: the probe job, its schedule and its resource."""

from dagster import Definitions, EnvVar

from orchestration.defs.mcp.jobs import mcp_probe_job
from orchestration.defs.mcp.resources import McpMonitorResource
from orchestration.defs.mcp.schedules import mcp_probe_schedule

defs = Definitions(
    jobs=[mcp_probe_job],
    schedules=[mcp_probe_schedule],
    resources={"mcp_monitor": McpMonitorResource(aioa_home=EnvVar("AIOA_HOME"))},
)
