"""Projects: project groups (several repositories, one product) and how each project's use changes over its life."""

import loaders
import plotly.express as px
import streamlit as st
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
    hover_data={"calls": ":,", "users": True},
    title="Spend by org, project group and project",
)
st.plotly_chart(figure, key="projects_treemap")
downloadable_table(overview, "projects")
life = loaders.project_lifecycle(context.version, context.filters, context.scope)
st.plotly_chart(
    px.line(
        life,
        x="life_week",
        y="cost_usd",
        color="project_id",
        line_dash="org_id",
        markers=True,
        labels={"life_week": "week of the project's life", "cost_usd": "spend (USD)"},
        title="Weekly spend over each project's life",
    ),
    key="projects_life",
)
downloadable_table(life, "project_lifecycle")
