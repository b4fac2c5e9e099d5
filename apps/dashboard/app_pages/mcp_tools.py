"""MCP & tools: live status of the configured MCP servers beside their use: per server and tool, calls, success
rate, latency, result size and cost of the turns that used it, and the tools that go with cheaper, successful
sessions."""

import loaders
import plotly.express as px
import streamlit as st
from display import axis_labels
from page_kit import downloadable_table, page_context, selected_value

context = page_context()
st.title("MCP & tools")

st.subheader("Live status")
status = loaders.mcp_live_status(context.scope)
if status.empty:
    st.caption(
        "No probes yet: `aioa mcp status` (or the Dagster schedule `mcp_probe_job_schedule`) probes the configured servers."
    )
else:
    up = int((status.last_status == "up").sum())
    st.caption(f"{up} of {len(status)} servers up at their last probe (uptime and latency over the last 7 days).")
    st.dataframe(
        status[
            [
                "name",
                "last_status",
                "uptime",
                "latency_ms_p50",
                "latency_ms_p95",
                "probes",
                "server_version",
                "last_probed_at",
                "last_reason",
            ]
        ],
        hide_index=True,
        column_config={
            "uptime": st.column_config.ProgressColumn("uptime", format="percent", min_value=0, max_value=1),
            "latency_ms_p50": st.column_config.NumberColumn("ping p50 (ms)", format="%.1f"),
            "latency_ms_p95": st.column_config.NumberColumn("ping p95 (ms)", format="%.1f"),
        },
    )

tools = loaders.mcp_tools(context.version, context.filters, context.scope)
if tools.empty:
    st.info("No MCP tool calls in this selection.")
    st.stop()
by_server = tools.groupby("mcp_server", as_index=False)[["calls", "failures", "attributed_tokens"]].sum()
event = st.plotly_chart(
    px.bar(
        by_server,
        x="mcp_server",
        y="calls",
        hover_data={"failures": ":,"},
        labels=axis_labels("mcp_server", "calls", "failures"),
        title="Calls per MCP server (click one for its tools)",
    ),
    on_select="rerun",
    selection_mode="points",
    key="mcp_servers",
)
picked = selected_value(event, "x")
shown = tools[tools.mcp_server == picked] if picked else tools
st.plotly_chart(
    px.scatter(
        shown,
        x="mean_duration_ms",
        y="success_rate",
        size="calls",
        color="mcp_server",
        hover_name="mcp_tool",
        hover_data={"token_share": ":.1%"},
        labels=axis_labels("mean_duration_ms", "success_rate", "mcp_server", "calls", "token_share"),
        title="Tools: mean latency (ms) against success rate (size = calls)",
    ).update_yaxes(tickformat=".0%"),
    key="mcp_scatter",
)
downloadable_table(shown, "mcp_tools")

st.subheader("Tool performance from use")
breakdown = st.segmented_control(
    "Break down by", ["project_id", "model", "user_id"], selection_mode="multi", key="mcp_breakdown"
)
performance = loaders.mcp_tool_performance(context.version, context.filters, context.scope, tuple(breakdown or ()))
if picked:
    performance = performance[performance.mcp_server == picked]
st.caption(
    "Latency is tool_use to tool_result; result tokens are estimated from the context growth to the next turn; "
    "turn cost is the cost of the model responses that called the tool."
)
downloadable_table(performance, "mcp_tool_performance", key="mcp_performance")

st.subheader("Recommendations")
recommendations = loaders.mcp_tool_recommendations(context.version, context.scope)
if recommendations.empty:
    st.caption("No sessions with MCP tools to compare yet.")
else:
    st.caption(
        "Per task type: sessions that used the tool against those that did not. Recommended: at least 5 sessions "
        "each side, at least as successful and cheaper with the tool (a correlation: read the evidence)."
    )
    downloadable_table(recommendations, "mcp_tool_recommendations", key="mcp_recommendations")
