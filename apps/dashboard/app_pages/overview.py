"""Overview: the headline numbers with their change against the previous period of equal length."""

import loaders
import plotly.express as px
import streamlit as st
from page_kit import downloadable_table, page_context

context = page_context()
st.title("Overview")
numbers = loaders.kpis(context.version, context.filters, context.scope)
now, before = numbers["current"], numbers["previous"]

HELP = {
    "spend_usd": "Sum of cost_usd of priced calls in the period (list prices from genai-prices or your overrides; "
    "calls to models without a price are not costed and are counted separately).",
    "tokens": "Input + output + cache-write + cache-read tokens.",
    "calls": "Billed model responses (streamed snapshots and replays counted once).",
    "cache_hit_rate": "Cache-read tokens ÷ (uncached input + cache-read + cache-write tokens).",
    "error_rate": "Responses with status error ÷ all responses.",
    "savings_usd": "Σ over handoffs of (target's tokens at the orchestrator's list price − the target's cost).",
}


def compact(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,.0f}"


FORMATS = {
    "spend_usd": "${:,.2f}".format,
    "tokens": compact,
    "calls": "{:,.0f}".format,
    "cache_hit_rate": "{:.1%}".format,
    "error_rate": "{:.2%}".format,
    "savings_usd": "${:,.2f}".format,
}
LABELS = {
    "spend_usd": "Spend",
    "tokens": "Tokens",
    "calls": "Calls",
    "cache_hit_rate": "Cache hit rate",
    "error_rate": "Error rate",
    "savings_usd": "Savings from routing",
}
columns = st.columns(len(LABELS))
for column, (name, label) in zip(columns, LABELS.items(), strict=True):
    delta = now[name] - before[name]
    column.metric(
        label,
        FORMATS[name](now[name]),
        delta=FORMATS[name](delta) if before[name] else None,
        delta_color="inverse" if name in ("spend_usd", "error_rate") else "normal",
        help=HELP[name] + " Change: against the previous period of the same length.",
    )
if now["unpriced_calls"]:
    st.warning(
        f"{now['unpriced_calls']:,.0f} calls used models without a known price and are not in the spend. "
        "Add them to the price override file (see `aioa doctor`)."
    )

daily = loaders.daily_usage(context.version, context.filters, context.scope, by="org")
figure = px.area(
    daily,
    x="day",
    y="cost_usd",
    color="series",
    labels={"cost_usd": "spend (USD)", "series": "org"},
    hover_data={"total_tokens": ":,", "calls": True},
    title="Daily spend by org",
)
st.plotly_chart(figure, key="overview_daily")
downloadable_table(daily, "daily_spend_by_org")
