"""Costs: spend by org, team, user, project, model or day; click a bar to see the calls behind it."""

import loaders
import plotly.express as px
import streamlit as st
from page_kit import downloadable_table, page_context, selected_value

from aioa.analytics import DIMENSIONS

context = page_context()
st.title("Costs")
dimension = (
    st.segmented_control(
        "Group by", ["org", "team", "user", "project", "model", "day"], default="project", key="costs_dimension"
    )
    or "project"
)
totals = loaders.spend_by(context.version, context.filters, context.scope, dimension)
label = DIMENSIONS[dimension].replace("_id", "")
figure = px.bar(
    totals,
    x=label,
    y="cost_usd",
    hover_data={"total_tokens": ":,", "calls": ":,", "error_calls": True},
    labels={"cost_usd": "spend (USD)"},
    title=f"Spend by {dimension}",
)
event = st.plotly_chart(figure, on_select="rerun", selection_mode="points", key=f"costs_{dimension}")
downloadable_table(totals, f"spend_by_{dimension}")

picked = selected_value(event, "x")
st.subheader(f"Calls behind {dimension} = {picked}" if picked else "Latest calls (click a bar to drill down)")
detail = loaders.detail_calls(
    context.version, context.filters, context.scope, dimension=dimension if picked else None, value=picked
)
downloadable_table(detail, "calls", key="costs_detail")
