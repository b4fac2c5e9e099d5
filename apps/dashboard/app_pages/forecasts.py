"""Forecasts & budgets: each series' shipped forecast (Prophet, or the best baseline where Prophet does not beat it)
with its 80% band, the month-end projection against each budget, the backtests per series (Prophet vs the best
baseline), and what-if costs (model mix, routing threshold)."""

import loaders
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from display import colour_map
from ml.forecasting.baselines import LABELS as MODEL_LABELS
from ml.forecasting.run import model_comparison
from ml.forecasting.whatif import WhatIfError, apply_ratio, mix_cost_ratio, org_cost_forecast_totals, priced_models
from page_kit import downloadable_table, page_context

from aioa import formatting
from aioa.settings import get_settings

FILL = "Run `uv run aioa forecast` (or `make demo`) to fit them."
METRIC_LABELS = {"cost_usd": "Cost (USD per day)", "total_tokens": "Tokens per day"}

context = page_context()
st.title("Forecasts & budgets")
projections = loaders.ml_table(context.version, context.scope, "budget_projections")
backtests = loaders.ml_table(context.version, context.scope, "forecast_backtests")
orgs = loaders.filter_options(context.version, context.scope)["orgs"]
projected = [] if projections is None else sorted(projections["org_id"].dropna().unique())
columns = st.columns(3)
org_options = [*projected, *(name for name in orgs if name not in projected)]
linked = st.query_params.get("org")  # the Overview links here with ?org=…
org = columns[0].selectbox("Org", org_options, index=org_options.index(linked) if linked in org_options else 0)
if org:
    st.query_params["org"] = org
# Only the picked org's series is read (its scope narrowed in SQL), not every org's.
forecasts = loaders.ml_table(context.version, context.scope.narrowed_to(org), "forecasts") if org else None

if forecasts is None or forecasts.empty:
    if backtests is not None and not backtests.empty and (projections is None or projections.empty):
        st.warning("The last forecast run shipped no forecast (no series had a usable backtest).")
        downloadable_table(backtests, "forecast_backtests")
    st.info(
        f"No forecasts yet. {FILL}"
        if forecasts is None or projections is None or projections.empty
        else f"No forecast for {org} (its series could not be modelled). {FILL}"
    )
    st.stop()

forecasts["day"] = pd.to_datetime(forecasts["day"])
projects = sorted(forecasts["project_id"].dropna().unique())
project = columns[1].selectbox("Project", ["(whole org)", *projects])
metric = columns[2].radio("Metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get, horizontal=True)
series = forecasts[
    (forecasts["metric"] == metric)
    & (forecasts["project_id"].isna() if project == "(whole org)" else forecasts["project_id"] == project)
].sort_values("day")
ahead = series[series["kind"] == "forecast"]
shipped_model = series["model"].iloc[0] if "model" in series and len(series) else "prophet"
shipped_label = MODEL_LABELS.get(shipped_model, shipped_model)

figure = go.Figure(
    [
        go.Scatter(x=series["day"], y=series["upper"], line={"width": 0}, showlegend=False, hoverinfo="skip"),
        go.Scatter(
            x=series["day"],
            y=series["lower"],
            fill="tonexty",
            line={"width": 0},
            name="80% interval",
            fillcolor="rgba(99, 110, 250, 0.2)",
        ),
        go.Scatter(x=series["day"], y=series["forecast"], name=shipped_label, line={"color": "#636efa"}),
        go.Scatter(
            x=series["day"], y=series["actual"], name="actual", mode="markers", marker={"color": "black", "size": 4}
        ),
    ]
)
if not ahead.empty:
    figure.add_vline(x=ahead["day"].min(), line_dash="dot", line_color="grey")
figure.update_layout(title=f"{org} · {project} · {METRIC_LABELS[metric]}", yaxis_title=METRIC_LABELS[metric])
total_text = formatting.money if metric == "cost_usd" else (lambda value: f"{formatting.count(value)} tokens")
st.plotly_chart(figure, key="forecast_chart")
st.caption(
    f"Shipped model: {shipped_label} (the lowest backtest MASE for this series"
    + (
        "; Prophet lost to this baseline, so the projection is the baseline's"
        if shipped_model not in ("prophet", "combination")
        else ""
    )
    + f"). Next {len(ahead)} days: {total_text(ahead['forecast'].sum())} forecast in total. Every model is fitted on the same cleaned history: spikes "
    "(e.g. a runaway agent) and public holidays are replaced by the usual level for their weekday, holidays are "
    "scaled back in by one learned factor; missing days count as zero."
)

st.subheader("Month-end spend against budget")
if projections is None or projections.empty:
    st.info(f"No month-end projections yet. {FILL}")
else:
    row = loaders.ml_table(context.version, context.scope.narrowed_to(org), "budget_projections")
    if row.empty:
        st.info(f"{org} has no month-end projection (its cost series could not be modelled).")
    else:
        row = row.iloc[0]
        cards = st.columns(4)
        cards[0].metric("Month to date", f"${row['month_to_date_usd']:,.2f}")
        cards[1].metric(
            "Projected month end",
            f"${row['projected_month_end_usd']:,.2f}",
            help=f"10–90%: ${row['p10_usd']:,.2f}–${row['p90_usd']:,.2f}",
        )
        has_budget = pd.notna(row["budget_usd"])
        cards[2].metric("Budget", f"${row['budget_usd']:,.0f}" if has_budget else "none")
        cards[3].metric("P(exceed budget)", f"{row['prob_exceed_budget']:.0%}" if has_budget else "n/a")
    org_colours = colour_map("org", projections["org_id"])
    bars = go.Figure(
        [
            go.Bar(
                x=projections["org_id"],
                y=projections["projected_month_end_usd"],
                name="projected month end",
                marker_color=[org_colours.get(name) for name in projections["org_id"]],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": projections["p90_usd"] - projections["projected_month_end_usd"],
                    "arrayminus": projections["projected_month_end_usd"] - projections["p10_usd"],
                },
            ),
            go.Scatter(
                x=projections["org_id"],
                y=projections["budget_usd"],
                mode="markers",
                name="budget",
                marker={"symbol": "line-ew-open", "size": 40, "line": {"width": 3, "color": "red"}},
            ),
        ]
    )
    bars.update_layout(title="Projected month-end spend (10–90% range) and budget", yaxis_title="USD")
    st.plotly_chart(bars, key="budget_chart")
    downloadable_table(projections, "budget_projections")

st.subheader("Backtests: Prophet against the best baseline, per series")
st.caption(
    "Rolling origins, 14 days ahead each; every model gets the same cleaned history. MASE: error relative to "
    "repeating last week inside the training data (lower is better); WAPE: total error / total usage; 80% interval "
    "coverage should be 75–85%; month total: error of the mid-month projection of the month's total. Baselines: "
    "seasonal naive, median of the last four same weekdays, ETS. Target: Prophet's MASE ≥ 15% below the best "
    "baseline's."
)
if backtests is not None and not backtests.empty:
    downloadable_table(model_comparison(backtests), "forecast_model_comparison")
    with st.expander("Every model's backtest metrics"):
        downloadable_table(backtests, "forecast_backtests")

st.subheader("What if")


def every_org_forecast() -> pd.DataFrame:
    """The forecasts of every org this app may show (a what-if re-costs each org's projection)."""
    return loaders.ml_table(context.version, context.scope, "forecasts")


usage = loaders.recent_model_usage(context.version, context.scope)
models = priced_models(usage)  # cheapest per token first
if projections is None or projections.empty or len(models) < 2:
    st.info("A model-mix what-if needs month-end projections and at least two priced models with recent usage.")
else:
    with st.form("what_if_mix"):
        picks = st.columns(3)
        source = picks[0].selectbox("Move tokens from", models, index=len(models) - 1)
        target = picks[1].selectbox("to", models, index=0)
        share = picks[2].slider("Share of its tokens", 0.05, 1.0, 0.5, 0.05)
        submitted = st.form_submit_button("Project")
    if submitted:
        try:
            ratios = mix_cost_ratio(usage, source, target, share)
        except WhatIfError as error:
            st.info(str(error))
        else:
            frame = apply_ratio(projections, org_cost_forecast_totals(every_org_forecast()), ratios)
            st.caption(f"{share:.0%} of {source}'s tokens re-costed at {target}'s recent per-token cost.")
            downloadable_table(frame, "what_if_model_mix")

threshold = st.number_input(
    "Routing threshold (router's P(cheap succeeds) below which a task goes strong)", 0.0, 1.0, 0.5, 0.05
)
if st.button("Project with this threshold"):
    from ml.forecasting.whatif import champion_router, routing_cost_ratio

    try:
        evaluation, scores = champion_router(get_settings())
        ratios = routing_cost_ratio(usage, evaluation, scores, threshold)
    except WhatIfError as error:
        st.info(str(error))
    else:
        st.caption(
            f"Strong-call share {ratios['strong_share_now'].iloc[0]:.0%} → "
            f"{ratios['strong_share_what_if'].iloc[0]:.0%}; expected quality "
            f"{ratios['quality_what_if'].iloc[0]:.1%}."
        )
        downloadable_table(
            apply_ratio(projections, org_cost_forecast_totals(every_org_forecast()), ratios), "what_if_routing"
        )
