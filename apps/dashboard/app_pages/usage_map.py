"""Usage map: each team's spend drawn at the place its org set for it (tenant settings `team_locations`).

Drawn on longitude/latitude axes without a base map: Plotly's geographic maps fetch their outlines (topojson) from
a CDN, and the app must not reach the internet. Click a team for the calls behind it."""

import loaders
import pandas as pd
import plotly.express as px
import streamlit as st
from display import axis_labels
from drilldown import drillable_chart
from page_kit import downloadable_table, page_context

from aioa.settings import get_settings
from aioa.tenants.settings_doc import tenant_settings

context = page_context()
st.title("Usage map")
orgs = (
    [context.principal.org_id]
    if context.principal.org_id
    else loaders.filter_options(context.version, context.scope)["orgs"]
)
places = pd.DataFrame(
    [
        {"org_id": org, **entry.model_dump()}
        for org in orgs
        for entry in tenant_settings(get_settings(), org).team_locations
    ],
    columns=["org_id", "team", "location", "lat", "lon"],
)
if places.empty:
    st.info(
        "No team locations are set. An admin adds them to the org's settings, e.g. with "
        "`uv run aioa tenant settings set --org ORG --file places.yaml` and a file like\n\n"
        "```yaml\nteam_locations:\n  - {team: platform, location: Berlin, lat: 52.52, lon: 13.40}\n```"
    )
    st.stop()
spend = loaders.spend_by(context.version, context.filters, context.scope, "team")
usage = places.merge(spend, on="team", how="inner")
if usage.empty:
    st.info("None of the located teams has usage in this selection.")
    st.stop()
figure = px.scatter(
    usage,
    x="lon",
    y="lat",
    size="cost_usd",
    color="location",
    text="team",
    custom_data=["team"],
    hover_data={"org_id": True, "calls": ":,", "cost_usd": ":$,.2f", "lat": False, "lon": False},
    labels=axis_labels("cost_usd", "calls", "org_id") | {"lon": "Longitude", "lat": "Latitude", "location": "Place"},
    title="Spend (USD) by team and place",
    size_max=48,
)
figure.update_traces(textposition="top center")
figure.update_xaxes(range=[-180, 180], zeroline=False)
figure.update_yaxes(range=[-90, 90], zeroline=False, scaleanchor="x", scaleratio=1)
st.caption(
    "Longitude × latitude, without a base map (the app fetches nothing from the internet). Click a team for its calls."
)
drillable_chart(figure, key="usage_map", fields={"team": "customdata.0"})
downloadable_table(usage.drop(columns=["lat", "lon"]), "usage_by_team_location")
