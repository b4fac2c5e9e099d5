"""Routing: measured handoff outcomes per target model, the router's evaluation and champion, and a route form."""

import json

import loaders
import plotly.express as px
import streamlit as st
from display import axis_labels, colour_map, table
from page_kit import downloadable_table, page_context

from aioa import formatting

context = page_context()
st.title("Routing")
handoffs = loaders.handoff_summary(context.version, context.filters, context.scope)
if handoffs.empty:
    st.info("No handoffs yet: ingest handoff logs (`aioa ingest handoffs PATH`) or run `make demo`.")
else:
    st.caption(
        "Success rate counts only handoffs whose outcome was measured; imported legacy rows (recorded as "
        "successes without measurement) have an unknown outcome and are excluded."
    )
    st.plotly_chart(
        px.bar(
            handoffs,
            x="task_type",
            y="success_rate",
            color="target_model",
            color_discrete_map=colour_map("model", handoffs["target_model"]),
            barmode="group",
            hover_data={"handoffs": ":,", "with_known_outcome": ":,"},
            labels=axis_labels("task_type", "success_rate", "target_model", "handoffs", "with_known_outcome"),
            title="Measured success rate by task type and target model",
        ).update_yaxes(tickformat=".0%"),
        key="routing_success",
    )
    downloadable_table(handoffs, "handoff_outcomes")

st.subheader("Router evaluation (champion, held-out tasks)")
evaluation = loaders.ml_table(context.version, context.scope, "routing_evaluation")
if context.scope.org_ids is not None:
    st.info("The router is trained and evaluated on every org's handoffs; its evaluation is shown to operators only.")
elif evaluation is None or evaluation.empty:
    st.info(
        "No router has been trained yet. Run `uv run aioa route train` (or `make demo`) to train, evaluate "
        "and register one; its held-out metrics and cost–quality curve appear here."
    )
else:
    first = evaluation.iloc[0]
    st.caption(
        f"Champion v{first['champion_version']}: {first['cheap_model']} (cheap) vs {first['strong_model']} "
        f"(strong), {first['test_rows']} held-out tasks, {first['outcomes']} outcomes. Handoff accuracy = "
        "share of tasks where the decision at the operating threshold was right (see docs/routing.md)."
    )
    # Routers compared on the curve metrics; the two fixed policies are single points (stated in words), and the
    # router's own probability metrics are one number each: no rows or columns of blanks.
    fixed = evaluation[evaluation["router"].isin(["always_cheap", "always_strong"])].set_index("router")
    if len(fixed) == 2:
        st.caption(
            f"Always cheap: success rate {formatting.percent(fixed.loc['always_cheap', 'quality'])}; always strong: "
            f"{formatting.percent(fixed.loc['always_strong', 'quality'])}. The champion's AUC "
            f"{formatting.number(first.get('auc'), 3)}, Brier score {formatting.number(first.get('brier'), 3)} "
            "(hover a column name for what it means)."
        )
    compared = evaluation[~evaluation["router"].isin(fixed.index)]
    columns = ["label", "apgr", "cpt_50", "cpt_80", "cost_saved_at_95pct_quality", "handoff_accuracy"]
    table(compared[[column for column in columns if column in compared.columns]].rename(columns={"label": "router"}))
    with st.expander("Every evaluation metric"):
        downloadable_table(evaluation.drop(columns=["curve_json"]), "routing_evaluation")
    curves = evaluation["curve_json"].dropna()
    if not curves.empty:
        curve = json.loads(curves.iloc[0])
        strong_cost = curve["cost"][-1] or 1
        st.plotly_chart(
            px.line(
                x=[cost / strong_cost for cost in curve["cost"]],
                y=curve["quality"],
                labels={"x": "cost relative to always-strong", "y": "quality (success rate)"},
                title="Cost–quality curve of the champion router",
            ),
            key="routing_curve",
        )

st.subheader("Route a task")
task_types = loaders.handoff_task_types(context.version, context.scope)  # the kinds of task the logs carry
with st.form("route"):
    text = st.text_area("Task", "Add a docstring to the retry helper.")
    task_type = (
        st.selectbox("Task type", task_types)
        if task_types
        else st.text_input("Task type", "code_generation", help="No handoffs logged yet to offer types from.")
    )
    submitted = st.form_submit_button("Route")
if submitted:
    from ml.routing.predict import RouterUnavailable, route  # scikit-learn and MLflow load only when asked

    try:
        decision = route({"task_text": text, "task_type": task_type})
    except RouterUnavailable as error:
        st.info(str(error))
    else:
        columns = st.columns(4)
        columns[0].metric("Target", decision.target)
        columns[1].metric("P(cheap model succeeds)", f"{decision.confidence:.1%}")
        columns[2].metric("Expected cost", f"${decision.expected_cost_usd:.4f}")
        columns[3].metric("Expected latency", f"{decision.expected_latency_ms / 1000:.1f} s")

st.subheader("Drift of routed tasks")
drift = loaders.ml_table(context.version, context.scope, "routing_drift")
if drift is None or drift.empty:
    st.info("No drift computed yet: it is computed on each pipeline run (`aioa run`, `make demo`).")
else:
    st.caption(
        f"Per org, the 14 days to {str(drift['as_of'].iloc[0])[:10]} against the 42 days before: PSI of the task-type "
        "mix, text length and TF-IDF projections (flagged from 0.1 when a chi-square test agrees, p < 0.01) and the "
        "success-rate change with a 99% interval (flagged from 5 points). See docs/routing.md."
    )
    flagged = drift[drift["severity"].isin(["warn", "critical"])]
    if flagged.empty:
        st.success("No drift flagged.")
    else:
        st.warning(
            "; ".join(f"{row.org_id}: {row.metric} {row.value:+.3f} ({row.severity})" for row in flagged.itertuples())
        )
    shown = ["org_id", "metric", "value", "threshold", "severity", "p_value", "reference_value", "current_value"]
    downloadable_table(drift[shown + ["low", "high", "reference_rows", "current_rows"]], "routing_drift")
