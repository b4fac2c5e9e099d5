"""The MCP probe job: one monitoring pass (`aioa.mcp.monitor`, the same code as `aioa mcp status`), on a Celery
worker when AIOA_CELERY_BROKER_URL is set (`aioa.jobs`)."""

from dagster import MetadataValue, OpExecutionContext, job, op

from orchestration.defs.mcp.resources import McpMonitorResource


@op(description="Probe every configured MCP server; store status, latency and tool-list changes.")
def probe_mcp_servers(context: OpExecutionContext, mcp_monitor: McpMonitorResource) -> dict:
    from aioa.jobs.run import run_job

    run = run_job(mcp_monitor.settings(), "probe_mcp", org_id=mcp_monitor.org())
    results, changes = run["results"], run["changes"]
    counts = {status: sum(result["status"] == status for result in results) for status in ("up", "down", "skipped")}
    for result in results:
        if result["status"] == "down":
            context.log.warning(f"MCP server {result['name']} is down: {result['reason']}")
    for change in changes:
        context.log.info(f"MCP server {change['server_name']}: tool {change['tool_name']} {change['change']}")
    context.add_output_metadata(
        {
            **{f"servers_{status}": count for status, count in counts.items()},
            "tool_changes": len(changes),
            "status": MetadataValue.md(
                "\n".join(f"- {r['name']}: {r['status']} {r['reason'] or ''}" for r in results) or "no servers"
            ),
        }
    )
    return {**counts, "tool_changes": len(changes)}


@job(description="Probe the configured MCP servers (status history, uptime, tool-list change events).")
def mcp_probe_job():
    probe_mcp_servers()
