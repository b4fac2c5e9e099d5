"""Sessions & agents: the most expensive sessions on a timeline, with their subagents, and handoffs by target."""

import loaders
import plotly.express as px
import streamlit as st
from page_kit import downloadable_table, page_context, selected_value

context = page_context()
st.title("Sessions & agents")
sessions = loaders.sessions_timeline(context.version, context.filters, context.scope)
if sessions.empty:
    st.info("No sessions in this selection.")
else:
    figure = px.timeline(
        sessions.head(60),
        x_start="start",
        x_end="finish",
        y="item",
        color="user_id",
        hover_data={"calls": True, "subagents": True, "cost_usd": ":.2f", "errors": True},
        title="Most expensive sessions (bars span first to last call)",
    )
    figure.update_yaxes(autorange="reversed", showticklabels=False, title="session")
    st.plotly_chart(figure, key="sessions_timeline")
    downloadable_table(sessions, "sessions")
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
            barmode="group",
            hover_data={"success_rate": ":.1%", "savings_usd": ":.2f"},
            title="Handoffs by task type and target model",
        ),
        on_select="rerun",
        selection_mode="points",
        key="sessions_handoffs",
    )
    picked = selected_value(event, "x")
    downloadable_table(handoffs[handoffs.task_type == picked] if picked else handoffs, "handoffs")
