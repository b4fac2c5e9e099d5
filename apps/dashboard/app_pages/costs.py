"""Costs: spend by org, team, user, project, model or day; click a bar to see the calls behind it (drill-down)."""

import loaders
import plotly.express as px
import streamlit as st
from annotations import annotate
from display import PALETTES, axis_labels, colour_map
from drilldown import drillable_chart
from page_kit import downloadable_table, page_context

from aioa.analytics import DIMENSIONS

context = page_context()
st.title("Costs")
GROUPS = ["org", "team", "user", "project", "model", "day"]
linked = st.query_params.get("dimension")  # links from other pages: ?dimension=model
dimension = (
    st.segmented_control("Group by", GROUPS, default=linked if linked in GROUPS else "project", key="costs_dimension")
    or "project"
)
totals = loaders.spend_by(context.version, context.filters, context.scope, dimension)
label = DIMENSIONS[dimension].replace("_id", "")
figure = px.bar(
    totals,
    x=label,
    y="cost_usd",
    color=label if dimension in PALETTES else None,
    color_discrete_map=colour_map(dimension, totals[label]) if dimension in PALETTES else None,
    hover_data={"total_tokens": ":,.0f", "calls": ":,", "error_calls": ":,"},
    labels=axis_labels("cost_usd", "total_tokens", "calls", "error_calls") | {label: dimension.capitalize()},
    title=f"Spend by {dimension} (USD; click a bar for its calls)",
)
figure.update_yaxes(tickprefix="$")
figure.update_layout(showlegend=False)
if dimension == "day":  # a time chart: the team's notes on days
    figure = annotate(figure, context, metric="spend", key="costs_day")
drillable_chart(figure, key=f"costs_{dimension}", fields={dimension: "x"})
downloadable_table(totals, f"spend_by_{dimension}")
