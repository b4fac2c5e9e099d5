"""Sessions & agents: the most expensive sessions on a timeline, with their subagents, and handoffs by target."""

import loaders
import pandas as pd
import plotly.express as px
import streamlit as st
from display import axis_labels, colour_map
from drilldown import drillable_chart
from page_kit import downloadable_table, page_context, selected_value

from aioa import formatting

context = page_context()
st.title("Sessions & agents")
sessions = loaders.sessions_timeline(context.version, context.filters, context.scope)
if sessions.empty:
    st.info("No sessions in this selection.")
else:
    sessions = sessions.assign(
        start=pd.to_datetime(sessions["start"]),
        finish=pd.to_datetime(sessions["finish"]),
    )
    minutes = (sessions["finish"] - sessions["start"]).dt.total_seconds() / 60
    sessions = sessions.assign(minutes=minutes, day=sessions["start"].dt.normalize())
    cards = st.columns(3)
    cards[0].metric(
        "Sessions shown", formatting.count(len(sessions)), help="The most expensive sessions in the selection."
    )
    cards[1].metric("Median length", formatting.duration(minutes.median() * 60))
    cards[2].metric("90% last under", formatting.duration(minutes.quantile(0.9) * 60))
    # lengths span seconds to hours: counted in readable buckets, not on one linear axis
    edges = [0, 1, 5, 15, 60, 240, 720, float("inf")]
    names = ["< 1 min", "1–5 min", "5–15 min", "15–60 min", "1–4 h", "4–12 h", "> 12 h"]
    buckets = pd.cut(minutes, edges, labels=names, right=False).value_counts().reindex(names, fill_value=0)
    st.plotly_chart(
        px.bar(
            x=buckets.index,
            y=buckets.values,
            labels={"x": "Session length (first to last call)", "y": "Sessions"},
            title="How long sessions last (number of sessions per length)",
        ),
        key="sessions_lengths",
    )
    days = sorted(sessions["day"].dt.date.unique())
    day = (
        st.select_slider("Day", options=days, value=days[-1], format_func=formatting.long_day, key="sessions_day")
        if len(days) > 1
        else days[0]
    )
    that_day = sessions[sessions["day"].dt.date == day].sort_values("start")
    figure = px.timeline(
        that_day,
        x_start="start",
        x_end="finish",
        y="item",
        color="project_id",
        color_discrete_map=colour_map("project", that_day["project_id"]),
        custom_data=["item"],
        hover_data={"user_id": True, "calls": ":,", "subagents": True, "cost_usd": ":$.2f", "errors": True},
        labels=axis_labels("project_id", "user_id", "calls", "subagents", "cost_usd", "errors"),
        title=f"Sessions on {formatting.long_day(day)} (UTC; click a session for its calls, drag to zoom)",
    )
    figure.update_yaxes(autorange="reversed", showticklabels=False, title="session")
    figure.update_xaxes(range=[pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(days=1)], tickformat="%H:%M")
    drillable_chart(figure, key="sessions_timeline", fields={"session": "customdata.0"})
    downloadable_table(sessions.drop(columns=["day"]), "sessions")
st.subheader("Handoffs")
handoffs = loaders.handoff_summary(context.version, context.filters, context.scope)
if handoffs.empty:
    st.info("No handoffs in this selection (ingest handoff logs with `aioa ingest handoffs`).")
else:
    event = st.plotly_chart(
        px.bar(
            handoffs,
            x="task_type",
            y="handoffs",
            color="target_model",
            color_discrete_map=colour_map("model", handoffs["target_model"]),
            barmode="group",
            hover_data={"success_rate": ":.1%", "savings_usd": ":$,.2f"},
            labels=axis_labels("task_type", "handoffs", "target_model", "success_rate", "savings_usd"),
            title="Handoffs by task type and target model (click a bar for its rows)",
        ),
        on_select="rerun",
        selection_mode="points",
        key="sessions_handoffs",
    )
    picked = selected_value(event, "x")
    downloadable_table(handoffs[handoffs.task_type == picked] if picked else handoffs, "handoffs")
