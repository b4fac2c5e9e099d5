"""Behaviour & patterns: how teams and people work (active hours, session length and cost, models and tools), where
each project is in its life, and which tool and task sequences recur and precede errors or expensive sessions."""

import loaders
import plotly.express as px
import streamlit as st
from display import axis_labels, colour_map
from page_kit import downloadable_table, page_context

from aioa import formatting
from aioa.analytics.behaviour import current_phases, phase_spans

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
PHASE_COLOURS = {"ramp-up": "#4c78a8", "steady": "#54a24b", "wind-down": "#e45756"}

context = page_context()
version, filters, scope = context.version, context.filters, context.scope
st.title("Behaviour & patterns")
st.caption(
    "How teams and people work in the selected period, where each project is in its life, and which sequences of "
    "tool calls and delegated tasks recur. Times are UTC."
)

# --- people and teams ----------------------------------------------------------------------------------------------
st.subheader("How people work")
dimension = st.segmented_control(
    "Per", ["team", "user"], default="team", format_func=formatting.label, key="behaviour_dimension"
)
dimension = dimension or "team"
members = loaders.behaviour_by(version, filters, scope, dimension)
if members.empty:
    st.info("No sessions in this selection.")
else:
    members = members.assign(**{dimension: members[dimension].fillna("(none)")})
    st.plotly_chart(
        px.bar(
            members,
            x=dimension,
            y="median_session_cost_usd",
            color=dimension,
            color_discrete_map=colour_map(dimension, members[dimension]),
            hover_data={"sessions": ":,", "median_session_minutes": ":.1f", "top_model": True, "top_tool": True},
            labels=axis_labels(
                dimension,
                "median_session_cost_usd",
                "sessions",
                "median_session_minutes",
                "top_model",
                "top_tool",
            ),
            title=f"Median cost per session (USD) per {formatting.label(dimension).lower()}",
        )
        .update_yaxes(tickprefix="$")
        .update_layout(showlegend=False),
        key="behaviour_cost_per_session",
    )
    downloadable_table(members, f"behaviour_by_{dimension}")

    whose = st.selectbox(
        "Active hours of",
        ["everyone", *members[dimension]],
        key="behaviour_whose_hours",
    )
    member = None if whose in ("everyone", "(none)") else (dimension, whose)
    hours = loaders.active_hours(version, filters, scope, member)
    if not hours.empty:
        grid = (
            hours.pivot_table(index="weekday", columns="hour_of_day", values="calls", aggfunc="sum")
            .reindex(index=range(1, 8), columns=range(24))
            .fillna(0)
        )
        grid.index = WEEKDAYS
        st.plotly_chart(
            px.imshow(
                grid,
                labels={"x": "Hour of day (UTC)", "y": "Weekday", "color": "Calls"},
                color_continuous_scale="Blues",
                aspect="auto",
                title=f"When {whose} works: calls per weekday and hour (UTC)",
            ),
            key="behaviour_hours",
        )

    models = loaders.models_used(version, filters, scope, dimension)
    tools = loaders.tools_used(version, filters, scope, dimension)
    left, right = st.columns(2)
    with left:
        if not models.empty:
            models = models.assign(**{dimension: models[dimension].fillna("(none)")})
            st.plotly_chart(
                px.bar(
                    models,
                    x=dimension,
                    y="share_of_calls",
                    color="model",
                    color_discrete_map=colour_map("model", models["model"]),
                    labels=axis_labels(dimension, "share_of_calls", "model"),
                    title="Models used (share of calls)",
                ).update_yaxes(tickformat=".0%"),
                key="behaviour_models",
            )
    with right:
        if not tools.empty:
            tools = tools.assign(**{dimension: tools[dimension].fillna("(none)")})
            top = tools.groupby("tool_name")["tool_calls"].sum().nlargest(12).index
            shares = tools[tools["tool_name"].isin(top)].pivot_table(
                index="tool_name", columns=dimension, values="share_of_tool_calls", aggfunc="sum"
            )
            st.plotly_chart(
                px.imshow(
                    shares.fillna(0),
                    labels={"x": formatting.label(dimension), "y": "Tool", "color": "Share"},
                    color_continuous_scale="Greens",
                    aspect="auto",
                    text_auto=".0%",
                    title="Tools used (share of each one's tool calls, 12 most used)",
                ),
                key="behaviour_tools",
            )

# --- project lifecycle ---------------------------------------------------------------------------------------------
st.subheader("Project lifecycle")
phases = loaders.project_phases(version, filters, scope)
if phases.empty:
    st.info(
        "No project lifecycles to show. They are judged on each project's whole usage (every team's calls), so "
        "they show to readers of the whole org (Admins)."
        if scope.rows_narrowed
        else "No project activity in this selection."
    )
else:
    st.caption(formatting.column("phase").help)
    spans = phase_spans(phases)
    spans = spans.assign(project=spans["org_id"] + " / " + spans["project_id"])
    st.plotly_chart(
        px.timeline(
            spans,
            x_start="start",
            x_end="finish",
            y="project",
            color="phase",
            color_discrete_map=PHASE_COLOURS,
            category_orders={"phase": list(PHASE_COLOURS)},
            hover_data={"weeks": True},
            labels={**axis_labels("phase"), "project": "Project", "weeks": "Weeks"},
            title="Each project's life: ramp-up, steady and wind-down weeks",
        ).update_yaxes(autorange="reversed", title=None),
        key="behaviour_phases",
    )
    downloadable_table(current_phases(phases), "project_phases")
    st.plotly_chart(
        px.line(
            phases,
            x="week_start",
            y="rolling_tokens",
            color="project_id",
            line_dash="org_id",
            color_discrete_map=colour_map("project", phases["project_id"]),
            hover_data={"phase": True, "share_of_peak": ":.0%", "total_tokens": ":,"},
            labels=axis_labels("week_start", "rolling_tokens", "project_id", "org_id", "phase", "share_of_peak"),
            title="Usage per week (3-week average, tokens) of each project",
        ),
        key="behaviour_lifecycle",
    )

# --- workflow patterns ---------------------------------------------------------------------------------------------
st.subheader("Workflow patterns")
controls = st.columns(3)
kind = controls[0].segmented_control(
    "Steps",
    ["tool", "task"],
    default="tool",
    format_func={"tool": "Tool calls", "task": "Delegated tasks"}.get,
    key="patterns_kind",
)
kind = kind or "tool"
lengths = controls[1].select_slider("Sequence length", options=[1, 2, 3], value=(2, 3), key="patterns_lengths")
min_sessions = controls[2].number_input("In at least … sessions", min_value=1, value=5, key="patterns_min_sessions")
patterns = loaders.workflow_patterns(version, filters, scope, kind, tuple(lengths), int(min_sessions))
if patterns.empty:
    st.info("No sequences that frequent in this selection (lower the session count or widen the dates).")
else:
    population = int(patterns["population_sessions"].iloc[0])
    st.caption(
        f"Out of {formatting.count(population)} sessions with {'tool calls' if kind == 'tool' else 'handoffs'}. "
        "Support: share of sessions with the sequence. Lift above 1: sessions with the sequence had errors (or "
        "were in the top 10% by cost) more often than sessions overall."
    )
    top = patterns.nlargest(15, "support").sort_values("support")
    st.plotly_chart(
        px.bar(
            top,
            x="support",
            y="pattern",
            orientation="h",
            color="error_lift",
            color_continuous_scale="RdYlGn_r",
            color_continuous_midpoint=1.0,
            hover_data={"sessions": ":,", "expensive_lift": ":.2f", "failure_after_share": ":.1%"},
            labels=axis_labels("support", "pattern", "error_lift", "sessions", "expensive_lift", "failure_after_share"),
            title="Most frequent sequences (share of sessions; colour: error lift)",
        ).update_xaxes(tickformat=".0%"),
        key="patterns_frequent",
    )
    risky = patterns[(patterns["error_lift"] > 1) | (patterns["expensive_lift"] > 1)]
    risky = risky.assign(worst_lift=risky[["error_lift", "expensive_lift"]].max(axis=1))
    st.markdown("**Sequences that precede errors or expensive sessions** (highest lift first)")
    downloadable_table(
        risky.sort_values("worst_lift", ascending=False).drop(columns=["worst_lift"]).head(20), "risky_sequences"
    )
    with st.expander("All sequences"):
        downloadable_table(patterns, "workflow_patterns")
