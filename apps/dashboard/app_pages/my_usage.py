"""My usage: a person's own spend, tokens, models and projects (their rows only, whatever their team sees)."""

from datetime import timedelta

import loaders
import plotly.express as px
import streamlit as st
from display import axis_labels, colour_map
from page_kit import downloadable_table, page_context

from aioa import formatting
from aioa.analytics import Filters
from aioa.warehouse.access import TenantScope

context = page_context()
me = context.principal
st.title("My usage")
st.caption(f"Your own calls (logged as {', '.join(me.usage_user_ids)}), last 30 days.")
own = TenantScope.for_orgs(me.org_id).narrowed_to_rows(user_ids=me.usage_user_ids)
last_day = loaders.filter_options(context.version, own)["last_day"]
if last_day is None:
    st.info("No calls of yours in the published data yet.")
    st.stop()
window = Filters(start=last_day - timedelta(days=29), end=last_day)
numbers = loaders.kpis(context.version, window, own)["current"]
columns = st.columns(4)
columns[0].metric("Spend", formatting.money(numbers["spend_usd"]))
columns[1].metric("Tokens", formatting.compact(numbers["tokens"]))
columns[2].metric("Calls", formatting.count(numbers["calls"]))
columns[3].metric("Error rate", formatting.percent(numbers["error_rate"], 2))

daily = loaders.daily_usage(context.version, window, own, by="model")
if daily.empty:
    st.info("No calls of yours in the last 30 days.")
else:
    figure = px.bar(
        daily,
        x="day",
        y="cost_usd",
        color="series",
        color_discrete_map=colour_map("model", daily["series"]),
        labels=axis_labels("day", "cost_usd") | {"series": "Model"},
        title="Your daily spend (USD) by model",
    )
    figure.update_yaxes(tickprefix="$")
    st.plotly_chart(figure, key="my_daily")
for dimension in ("project", "model"):
    st.subheader(f"By {dimension}")
    downloadable_table(loaders.spend_by(context.version, window, own, dimension), f"my_spend_by_{dimension}")
