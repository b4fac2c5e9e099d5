"""Forecasts & budgets: daily spend forecasts with intervals and the month-end projection against each budget."""

import plotly.graph_objects as go
import streamlit as st
from page_kit import data, downloadable_table, require_snapshot, tenant_scope

version = require_snapshot()
scope = tenant_scope()
st.title("Forecasts & budgets")
forecasts = data("ml_table", version, None, scope.org_ids, table="forecasts")
projections = data("ml_table", version, None, scope.org_ids, table="budget_projections")
if forecasts is None or forecasts.empty:
    st.info("No forecasts yet. Run `uv run aioa forecast` (or `make demo`) to fit them.")
    st.stop()
orgs = sorted(forecasts["org_id"].dropna().unique())
org = st.selectbox("Org", orgs)
series = forecasts[(forecasts.org_id == org) & (forecasts.get("project_id").isna()
                                                if "project_id" in forecasts else True)]
figure = go.Figure([
    go.Scatter(x=series.day, y=series.upper, line={"width": 0}, showlegend=False, hoverinfo="skip"),
    go.Scatter(x=series.day, y=series.lower, fill="tonexty", line={"width": 0}, name="80% interval"),
    go.Scatter(x=series.day, y=series.forecast, name="forecast"),
])
st.plotly_chart(figure, key="forecast_chart")
if projections is not None and not projections.empty:
    downloadable_table(projections, "budget_projections")
