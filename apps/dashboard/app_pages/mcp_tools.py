"""MCP & tools: per server and tool: calls, success rate, latency and share of tokens."""

import loaders
import plotly.express as px
import streamlit as st
from page_kit import downloadable_table, page_context, selected_value

context = page_context()
st.title("MCP & tools")
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
        hover_data={"failures": True},
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
        title="Tools: latency against success rate (size = calls)",
    ),
    key="mcp_scatter",
)
downloadable_table(shown, "mcp_tools")
