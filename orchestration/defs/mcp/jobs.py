"""The MCP probe job: one monitoring pass (`aioa.mcp.monitor`, the same code as `aioa mcp status`)."""

from dagster import MetadataValue, OpExecutionContext, job, op

from orchestration.defs.mcp.resources import McpMonitorResource


@op(description="Probe every configured MCP server; store status, latency and tool-list changes.")
def probe_mcp_servers(context: OpExecutionContext, mcp_monitor: McpMonitorResource) -> dict:
    from aioa.mcp.monitor import monitor

    run = monitor(mcp_monitor.settings(), mcp_monitor.org())
    counts = {status: sum(result.status == status for result in run.results) for status in ("up", "down", "skipped")}
    for result in run.down:
        context.log.warning(f"MCP server {result.server.name} is down: {result.reason}")
    for change in run.changes:
        context.log.info(f"MCP server {change.server_name}: tool {change.tool_name} {change.change}")
    context.add_output_metadata(
        {
            **{f"servers_{status}": count for status, count in counts.items()},
            "tool_changes": len(run.changes),
            "status": MetadataValue.md(
                "\n".join(f"- {r.server.name}: {r.status} {r.reason or ''}" for r in run.results) or "no servers"
            ),
        }
    )
    return {**counts, "tool_changes": len(run.changes)}


@job(description="Probe the configured MCP servers (status history, uptime, tool-list change events).")
def mcp_probe_job():
    probe_mcp_servers()
