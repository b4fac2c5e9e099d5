"""Overview: what needs attention first (budgets at risk, the latest anomalies, data freshness, quality problems),
then the headline numbers with their change against the previous period of equal length."""

from contextlib import suppress

import attention
import loaders
import plotly.express as px
import streamlit as st
from annotations import annotate
from display import SIGNED, axis_labels, colour_map, delta_colour
from drilldown import drillable_chart
from page_kit import downloadable_table, page_context
from streamlit.errors import StreamlitPageNotFoundError

from aioa import formatting
from aioa.settings import get_settings

context = page_context()
st.title("Overview")
numbers = loaders.kpis(context.version, context.filters, context.scope)
now, before = numbers["current"], numbers["previous"]
orgs = context.filters.orgs

# What needs action: from the stored forecast and anomaly tables, the recommendations, the run record and the quality
# results.
items = [
    *attention.budget_items(
        loaders.ml_table(context.version, context.scope, "budget_projections"),
        loaders.ml_table(context.version, context.scope, "forecasts"),
        orgs,
    ),
    *attention.anomaly_items(loaders.ml_table(context.version, context.scope, "anomalies"), orgs),
    *attention.recommendation_items(loaders.recommendations(context.version, context.scope), orgs),
    *attention.quality_items(
        loaders.latest_quality_checks(context.version, context.scope),
        loaders.quarantine_reasons(context.version, context.scope),
        now["unpriced_calls"],
    ),
]
freshness = attention.freshness_item(
    loaders.filter_options(context.version, context.scope)["last_day"],
    loaders.latest_pipeline_run(str(get_settings().home)),
)
ICONS = {
    "error": ":material/error:",
    "warning": ":material/warning:",
    "info": ":material/info:",
    "ok": ":material/check_circle:",
}
with st.container(border=True, key="attention"):
    needing = [item for item in items if item.severity in ("error", "warning")]
    st.subheader(f"Needs attention ({len(needing)})" if needing else "Nothing needs attention")
    for item in [freshness, *items]:
        text, link = st.columns([4, 1], vertical_alignment="center")
        text.markdown(f"{ICONS[item.severity]} **{item.title}**  \n{item.detail}")
        with suppress(StreamlitPageNotFoundError):  # a page this role does not have (a Viewer: no Data quality)
            link.page_link(item.page, label=item.link, icon=":material/arrow_forward:", query_params=item.query or None)

HELP = {
    "spend_usd": "Sum of cost_usd of priced calls in the period (list prices from genai-prices or your overrides; "
    "calls to models without a price are not costed and are counted separately).",
    "tokens": "Input + output + cache-write + cache-read tokens.",
    "calls": "Billed model responses (streamed snapshots and replays counted once).",
    "cache_hit_rate": "Cache-read tokens ÷ (uncached input + cache-read + cache-write tokens).",
    "error_rate": "Responses with status error ÷ all responses (API errors count against the model that failed).",
    "savings_usd": "Σ over handoffs of (target's tokens at the orchestrator's list price − the target's cost).",
}
FORMATS = {
    "spend_usd": formatting.money,
    "tokens": formatting.compact,
    "calls": formatting.count,
    "cache_hit_rate": formatting.percent,
    "error_rate": lambda value: formatting.percent(value, 2),
    "savings_usd": formatting.money,
}
KINDS = {"spend_usd": "usd", "tokens": "tokens", "calls": "count", "cache_hit_rate": "ratio", "error_rate": "ratio"}
LABELS = {
    "spend_usd": "Spend",
    "tokens": "Tokens",
    "calls": "Calls",
    "cache_hit_rate": "Cache hit rate",
    "error_rate": "Error rate",
    "savings_usd": "Savings from routing",
}
columns = st.columns(3)
for index, (name, label) in enumerate(LABELS.items()):
    delta = now[name] - before[name]
    columns[index % 3].metric(
        label,
        FORMATS[name](now[name]),
        delta=SIGNED[KINDS.get(name, "usd")](delta) if before[name] else None,
        delta_color=delta_colour(name),  # spend or errors up: red; savings or cache hits down: red
        help=HELP[name] + " Change: against the previous period of the same length.",
        border=True,
    )

daily = loaders.daily_usage(context.version, context.filters, context.scope, by="org")
figure = px.area(
    daily,
    x="day",
    y="cost_usd",
    color="series",
    color_discrete_map=colour_map("org", daily.get("series")),
    labels=axis_labels("day", "cost_usd") | {"series": "Org"},
    hover_data={"total_tokens": ":,.0f", "calls": ":,"},
    title="Daily spend by org (USD; click a point for its calls)",
)
figure.update_yaxes(tickprefix="$")
figure = annotate(figure, context, metric="spend", key="overview_daily")  # the team's notes on days
drillable_chart(figure, key="overview_daily", fields={"day": "x", "org": "legendgroup"})
downloadable_table(daily, "daily_spend_by_org")
