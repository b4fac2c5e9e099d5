"""Anomalies: cost spikes, usage surges, error bursts, runaway agents and latency degradation, each with what drove
it (project, model, user), on a timeline of daily spend."""

import loaders
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from display import axis_labels, colour_map
from page_kit import downloadable_table, page_context

from aioa.analytics import Filters

KIND_COLOURS = {
    "cost_spike": "#d62728",
    "usage_surge": "#1f77b4",
    "error_burst": "#ff7f0e",
    "runaway_agent": "#9467bd",
    "latency_degradation": "#2ca02c",
}
KIND_SYMBOLS = {
    "cost_spike": "x",
    "usage_surge": "triangle-up",
    "error_burst": "diamond",
    "runaway_agent": "star",
    "latency_degradation": "circle",
}
TABLE_COLUMNS = [
    "org_id",
    "kind",
    "grain",
    "start",
    "end",
    "metric",
    "observed",
    "expected",
    "score",
    "driver_project",
    "driver_model",
    "driver_user",
    "drivers",
]

context = page_context()
st.title("Anomalies")
anomalies = loaders.ml_table(context.version, context.scope, "anomalies")
if anomalies is None:
    st.info("Anomaly detection has not run yet. Run `uv run aioa anomalies` (or `make demo`) to detect them.")
    st.stop()
if anomalies.empty:
    st.success("No anomalies detected in the data.")
    st.stop()

kinds = [kind for kind in KIND_COLOURS if kind in set(anomalies["kind"])]
anomaly_orgs = sorted(anomalies["org_id"].dropna().unique())
# The Overview links here with ?org=…&kind=…
linked_kind = st.query_params.get("kind")
linked_org = st.query_params.get("org")
left, middle, right = st.columns([3, 2, 1])
picked_kinds = left.multiselect(
    "Kind",
    kinds,
    default=[linked_kind] if linked_kind in kinds else kinds,
    format_func=lambda kind: kind.replace("_", " "),
    key="anomaly_kinds",
)
picked_orgs = middle.multiselect(
    "Org", anomaly_orgs, default=[linked_org] if linked_org in anomaly_orgs else [], key="anomaly_orgs"
)
grain = right.segmented_control("Grain", ["day", "hour", "all"], default="day", key="anomaly_grain") or "day"
shown = anomalies[anomalies["kind"].isin(picked_kinds) & ((anomalies["grain"] == grain) | (grain == "all"))]
if picked_orgs:
    shown = shown[shown["org_id"].isin(picked_orgs)]
shown = shown.sort_values("start", ascending=False)

counts = shown["kind"].value_counts()
for column, kind in zip(st.columns(len(kinds)), kinds, strict=True):
    column.metric(kind.replace("_", " ").capitalize(), int(counts.get(kind, 0)))

# The timeline: each org's daily spend, anomaly windows shaded and marked in the colour of their kind.
first, last = pd.Timestamp(anomalies["start"].min()), pd.Timestamp(anomalies["end"].max())
spend = loaders.daily_usage(
    context.version, Filters(start=(first - pd.Timedelta(days=14)).date(), end=last.date()), context.scope, by="org"
)
org_colours = colour_map("org", spend["series"])
figure = px.line(
    spend,
    x="day",
    y="cost_usd",
    color="series",
    color_discrete_map=org_colours,
    labels=axis_labels("day", "cost_usd") | {"series": "Org"},
    title="Daily spend (USD) with the detected anomalies (shaded by kind, marked in the org's colour)",
)
figure.update_yaxes(tickprefix="$")
for row in shown.itertuples():
    figure.add_vrect(x0=row.start, x1=row.end, fillcolor=KIND_COLOURS.get(row.kind, "grey"), opacity=0.15, line_width=0)
markers = shown.assign(day=pd.to_datetime(shown["start"]).dt.normalize())
markers = markers.merge(
    spend.assign(day=pd.to_datetime(spend["day"])).rename(columns={"series": "org_id"}),
    on=["org_id", "day"],
    how="left",
)
for kind, group in markers.groupby("kind"):
    figure.add_trace(
        go.Scatter(
            x=group["day"],
            y=group["cost_usd"].fillna(0),
            mode="markers",
            name=kind.replace("_", " "),
            # the org's colour (the line it sits on), the kind's symbol
            marker={
                "size": 12,
                "color": [org_colours.get(org, "grey") for org in group["org_id"]],
                "symbol": KIND_SYMBOLS.get(kind, "x"),
                "line": {"width": 2, "color": KIND_COLOURS.get(kind, "grey")},
            },
            text=group["org_id"] + ": " + group["drivers"].fillna(""),
            hoverinfo="text+x",
        )
    )
st.plotly_chart(figure, key="anomaly_timeline")

st.subheader("What drove each anomaly")
downloadable_table(shown[[column for column in TABLE_COLUMNS if column in shown.columns]], "anomalies")
