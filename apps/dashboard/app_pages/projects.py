"""Projects: project groups (several repositories, one product) and how each project's use changes over its life."""

import loaders
import plotly.express as px
import streamlit as st
from display import axis_labels, colour_map
from drilldown import drillable_chart
from page_kit import downloadable_table, page_context

context = page_context()
st.title("Projects")
overview = loaders.projects_overview(context.version, context.filters, context.scope)
if overview.empty:
    st.info("No project activity in this selection.")
    st.stop()
figure = px.treemap(
    overview,
    path=["org_id", "project_group", "project_id"],
    values="cost_usd",
    color="org_id",
    color_discrete_map=colour_map("org", overview["org_id"]) | {"(?)": "#cccccc"},
    hover_data={"calls": ":,", "users": True},
    labels=axis_labels("cost_usd", "calls", "users", "org_id"),
    title="Spend (USD) by org, project group and project",
)
st.plotly_chart(figure, key="projects_treemap")
downloadable_table(overview, "projects")
life = loaders.project_lifecycle(context.version, context.filters, context.scope)
drillable_chart(
    px.line(
        life,
        x="life_week",
        y="cost_usd",
        color="project_id",
        color_discrete_map=colour_map("project", life["project_id"]),
        line_dash="org_id",
        markers=True,
        custom_data=["org_id", "project_id"],
        labels=axis_labels("life_week", "cost_usd", "project_id", "org_id"),
        title="Weekly spend (USD) over each project's life (click a point for the project's calls)",
    ).update_yaxes(tickprefix="$"),
    key="projects_life",
    fields={"org": "customdata.0", "project": "customdata.1"},
)
downloadable_table(life, "project_lifecycle")
