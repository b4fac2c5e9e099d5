"""The widgets of "My dashboard": what each kind shows and how, drawn through the same tenant-scoped loaders as
the pages (the viewer's scope and sidebar filters), so a widget never shows more than its viewer may read."""

from __future__ import annotations

import loaders
import plotly.express as px
import streamlit as st
from display import PALETTES, SIGNED, axis_labels, colour_map, delta_colour, table
from drilldown import drillable_chart
from page_kit import PageContext
from signin import may

from aioa import formatting
from aioa.analytics import DIMENSIONS
from aioa.dashboards.layouts import GROUPS, KPI_METRICS, ChartWidget, KpiWidget, QuestionWidget, TableWidget, Widget

CHARTS = {"daily_spend": "Daily spend", "spend_by": "Spend"}
TABLES = {"spend_by": "Spend by", "projects": "Projects", "sessions": "Most expensive sessions"}
TOP_SESSIONS = 20


def title(widget: Widget) -> str:
    """A widget in words, for the arrange list."""
    if isinstance(widget, KpiWidget):
        return f"Number: {formatting.column(widget.metric).label}"
    if isinstance(widget, ChartWidget):
        return f"Chart: {CHARTS[widget.chart]} by {widget.by}"
    if isinstance(widget, TableWidget):
        return f"Table: Spend by {widget.by}" if widget.table == "spend_by" else f"Table: {TABLES[widget.table]}"
    return f"Question: {widget.question}"


def allowed(widget: Widget, context: PageContext) -> bool:
    """Saved questions need the Ask permission; the other widgets only what the page itself needs."""
    return not isinstance(widget, QuestionWidget) or may(context.principal, "ask:run")


def draw_all(widgets: list[Widget], context: PageContext) -> None:
    """Each widget in its order; consecutive numbers share a row."""
    index = 0
    while index < len(widgets):
        if isinstance(widgets[index], KpiWidget):
            run = index
            while run < len(widgets) and isinstance(widgets[run], KpiWidget):
                run += 1
            _kpis(widgets[index:run], context)
            index = run
            continue
        with st.container(border=True, key=f"my_widget_{index}"):
            _draw(widgets[index], context, index)
        index += 1


def _kpis(widgets: list[KpiWidget], context: PageContext) -> None:
    numbers = loaders.kpis(context.version, context.filters, context.scope)
    now, before = numbers["current"], numbers["previous"]
    columns = st.columns(min(3, len(widgets)))
    for position, widget in enumerate(widgets):
        spec = formatting.column(widget.metric)
        delta = now[widget.metric] - before[widget.metric]
        columns[position % len(columns)].metric(
            spec.label,
            formatting.format_value(widget.metric, now[widget.metric]),
            delta=SIGNED.get(spec.kind, SIGNED["usd"])(delta) if before[widget.metric] else None,
            delta_color=delta_colour(widget.metric),
            help=(spec.help or "") + " Change: against the previous period of the same length.",
            border=True,
        )


def _draw(widget: Widget, context: PageContext, index: int) -> None:
    if not allowed(widget, context):
        st.info("Your role cannot run saved questions (Ask); remove this widget or ask an admin.")
    elif isinstance(widget, ChartWidget):
        _chart(widget, context, index)
    elif isinstance(widget, TableWidget):
        _table(widget, context)
    elif isinstance(widget, QuestionWidget):
        _question(widget, context, index)


def _chart(widget: ChartWidget, context: PageContext, index: int) -> None:
    palette = widget.by if widget.by in PALETTES else None
    if widget.chart == "daily_spend":
        daily = loaders.daily_usage(context.version, context.filters, context.scope, by=widget.by)
        figure = px.area(
            daily,
            x="day",
            y="cost_usd",
            color="series",
            color_discrete_map=colour_map(palette, daily.get("series")) if palette else None,
            labels=axis_labels("day", "cost_usd") | {"series": widget.by.capitalize()},
            title=f"Daily spend by {widget.by} (USD; click a point for its calls)",
        )
        fields = {"day": "x", widget.by: "legendgroup"}
    else:
        totals = loaders.spend_by(context.version, context.filters, context.scope, widget.by)
        label = DIMENSIONS[widget.by].replace("_id", "")
        figure = px.bar(
            totals,
            x=label,
            y="cost_usd",
            color=label if palette else None,
            color_discrete_map=colour_map(palette, totals[label]) if palette else None,
            labels=axis_labels("cost_usd") | {label: widget.by.capitalize()},
            title=f"Spend by {widget.by} (USD; click a bar for its calls)",
        ).update_layout(showlegend=False)
        fields = {widget.by: "x"}
    figure.update_yaxes(tickprefix="$")
    drillable_chart(figure, key=f"my_chart_{index}_{widget.chart}_{widget.by}", fields=fields)


def _table(widget: TableWidget, context: PageContext) -> None:
    if widget.table == "spend_by":
        st.markdown(f"**Spend by {widget.by}**")
        table(loaders.spend_by(context.version, context.filters, context.scope, widget.by))
    elif widget.table == "projects":
        st.markdown("**Projects**")
        table(loaders.projects_overview(context.version, context.filters, context.scope))
    else:
        st.markdown(f"**The {TOP_SESSIONS} most expensive sessions**")
        table(loaders.sessions_timeline(context.version, context.filters, context.scope).head(TOP_SESSIONS))


def _question(widget: QuestionWidget, context: PageContext, index: int) -> None:
    from aioa.ask import ask

    st.markdown(f"**{widget.question}**")
    result = ask(widget.question, context.scope)
    if not result.answered or result.refused:
        st.warning(result.reason)
        return
    st.caption(result.answer + (f" Answered: {result.understood}." if result.understood else ""))
    if result.chart is not None and not result.rows.empty:
        st.plotly_chart(result.chart.figure(result.rows), key=f"my_question_{index}")
    else:
        table(result.rows)


def catalogue() -> dict[str, list[Widget]]:
    """Every widget that can be picked from a list, by kind (saved questions are typed or pinned from Ask)."""
    return {
        "Number": [KpiWidget(metric=metric) for metric in KPI_METRICS],
        "Chart": [ChartWidget(chart=chart, by=by) for chart in CHARTS for by in GROUPS],
        "Table": [TableWidget(table="spend_by", by=by) for by in GROUPS]
        + [TableWidget(table="projects"), TableWidget(table="sessions")],
    }
