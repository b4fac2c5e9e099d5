"""Routing: measured handoff outcomes per target model, the router's evaluation and champion, and a route form."""

import json

import plotly.express as px
import streamlit as st
from page_kit import data, downloadable_table, require_snapshot, sidebar_filters, tenant_scope

version = require_snapshot()


filters = sidebar_filters(version)
scope = tenant_scope()
st.title("Routing")
handoffs = data("handoff_summary", version, filters, scope.org_ids)
if handoffs.empty:
    st.info("No handoffs yet: ingest handoff logs (`aioa ingest handoffs PATH`) or run `make demo`.")
else:
    st.caption("Success rate counts only handoffs whose outcome was measured; imported legacy rows (recorded as "
               "successes without measurement) have an unknown outcome and are excluded.")
    st.plotly_chart(px.bar(handoffs, x="task_type", y="success_rate", color="target_model", barmode="group",
                           hover_data={"handoffs": True, "with_known_outcome": True},
                           title="Measured success rate by task type and target model"), key="routing_success")
    downloadable_table(handoffs, "handoff_outcomes")

st.subheader("Router evaluation (champion, held-out tasks)")
evaluation = data("ml_table", version, None, scope.org_ids, table="routing_evaluation")
if scope.org_ids is not None:
    st.info("The router is trained and evaluated on every org's handoffs; its evaluation is shown to operators only.")
elif evaluation is None or evaluation.empty:
    st.info("No router has been trained yet. Run `uv run aioa route train` (or `make demo`) to train, evaluate "
            "and register one; its held-out metrics and cost–quality curve appear here.")
else:
    first = evaluation.iloc[0]
    st.caption(f"Champion v{first['champion_version']}: {first['cheap_model']} (cheap) vs {first['strong_model']} "
               f"(strong), {first['test_rows']} held-out tasks, {first['outcomes']} outcomes. Handoff accuracy = "
               "share of tasks where the decision at the operating threshold was right (see docs/routing.md).")
    downloadable_table(evaluation.drop(columns=["curve_json"]), "routing_evaluation")
    curves = evaluation["curve_json"].dropna()
    if not curves.empty:
        curve = json.loads(curves.iloc[0])
        strong_cost = curve["cost"][-1] or 1
        st.plotly_chart(px.line(x=[cost / strong_cost for cost in curve["cost"]], y=curve["quality"],
                                labels={"x": "cost relative to always-strong", "y": "quality (success rate)"},
                                title="Cost–quality curve of the champion router"), key="routing_curve")

st.subheader("Route a task")
with st.form("route"):
    text = st.text_area("Task", "Add a docstring to the retry helper.")
    task_type = st.selectbox("Task type", ["code_generation", "refactor", "test_writing", "documentation",
                                           "debugging", "question"])
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
