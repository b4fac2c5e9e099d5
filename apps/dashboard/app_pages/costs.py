"""Costs: spend by org, team, user, project, model or day; click a bar to see the calls behind it."""

import plotly.express as px
import streamlit as st
from page_kit import data, downloadable_table, require_snapshot, selected_value, sidebar_filters, tenant_scope

from aioa.analytics import DIMENSIONS

version = require_snapshot()
filters = sidebar_filters(version)
scope = tenant_scope()
st.title("Costs")
dimension = st.segmented_control("Group by", ["org", "team", "user", "project", "model", "day"], default="project",
                                 key="costs_dimension") or "project"
totals = data("spend_by", version, filters, scope.org_ids, dimension=dimension)
label = DIMENSIONS[dimension].replace("_id", "")
figure = px.bar(totals, x=label, y="cost_usd", hover_data={"total_tokens": ":,", "calls": ":,", "error_calls": True},
                labels={"cost_usd": "spend (USD)"}, title=f"Spend by {dimension}")
event = st.plotly_chart(figure, on_select="rerun", selection_mode="points", key=f"costs_{dimension}")
downloadable_table(totals, f"spend_by_{dimension}")

picked = selected_value(event, "x")
st.subheader(f"Calls behind {dimension} = {picked}" if picked else "Latest calls (click a bar to drill down)")
detail = data("detail_calls", version, filters, scope.org_ids, dimension=dimension if picked else None, value=picked)
downloadable_table(detail, "calls", key="costs_detail")
