"""Drill-down from a chart to the calls behind it, for every page the same way: a click on a point (or a bar)
puts its values in the URL (`?drill=<chart>&drill_day=…&drill_org=…&drill_page=…`, so the view is linkable) and
the calls it stands for appear under the chart, a page at a time, within the page's filters and the reader's scope."""

from __future__ import annotations

import math

import loaders
import streamlit as st
from page_kit import downloadable_table, page_context

from aioa import formatting
from aioa.analytics.drilldown import DRILL_COLUMNS

PAGE_SIZE = 50
CHART_PARAM = "drill"
PAGE_PARAM = "drill_page"


def drillable_chart(figure, *, key: str, fields: dict[str, str]) -> None:
    """Draw `figure` with drill-down. `fields` maps a dimension (day, org, team, user, project, model, session) to
    where a clicked point carries its value: "x", "y", "legendgroup" or "customdata.N" (px's `custom_data`)."""
    unknown = set(fields) - set(DRILL_COLUMNS)
    if unknown:
        raise ValueError(f"cannot drill by {sorted(unknown)}; known: {sorted(DRILL_COLUMNS)}")
    for trace in figure.data:  # plotly selects no point of a line without markers
        if getattr(trace, "mode", None) == "lines":
            trace.update(mode="lines+markers", marker={"size": 5})
    event = st.plotly_chart(figure, key=key, on_select="rerun", selection_mode="points")
    _follow_selection(key, _point_values(event, fields))
    if st.query_params.get(CHART_PARAM) == key:
        _calls_panel(key)


def _point_values(event, fields: dict[str, str]) -> tuple[tuple[str, str], ...] | None:
    points = event.selection.points if event is not None and hasattr(event, "selection") else []
    if not points:
        return None
    point = points[0]
    values = []
    for dimension, where in fields.items():
        if where.startswith("customdata."):
            data = point.get("customdata") or []
            index = int(where.split(".", 1)[1])
            value = data[index] if index < len(data) else None
        else:
            value = point.get(where)
        values.append((dimension, _text(dimension, value)))
    return tuple(values)


def _text(dimension: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # the calls without this value
    text = str(value)
    return text[:10] if dimension == "day" else text


def _follow_selection(key: str, values) -> None:
    """A new selection replaces the URL's drill-down; clearing the selection removes it. A page opened from a link
    has no selection yet: the URL's drill-down stays."""
    seen_key = f"{key}__drilled"
    if seen_key in st.session_state and st.session_state[seen_key] == values:
        return
    first_look = seen_key not in st.session_state
    st.session_state[seen_key] = values
    if values is None:
        if not first_look and st.query_params.get(CHART_PARAM) == key:
            _clear_drill()
        return
    _clear_drill()
    st.query_params.update({CHART_PARAM: key, **{f"drill_{name}": value for name, value in values}})


def _clear_drill() -> None:
    for name in [name for name in st.query_params if name == CHART_PARAM or name.startswith("drill_")]:
        del st.query_params[name]


def current_drill() -> tuple[tuple[str, str], ...]:
    """The drill-down the URL holds (only dimensions we know; the order of DRILL_COLUMNS)."""
    return tuple(
        (name, st.query_params[f"drill_{name}"]) for name in DRILL_COLUMNS if f"drill_{name}" in st.query_params
    )


def _calls_panel(key: str) -> None:
    context = page_context()
    drill = current_drill()
    try:
        page = max(0, int(st.query_params.get(PAGE_PARAM, "1")) - 1)
    except ValueError:
        page = 0
    rows, total = loaders.calls_behind(context.version, context.filters, context.scope, drill, page, PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if rows.empty and page >= pages:  # a link to a page past the end: the last page
        page = pages - 1
        rows, total = loaders.calls_behind(context.version, context.filters, context.scope, drill, page, PAGE_SIZE)
    described = ", ".join(f"{name} {value or '(none)'}" for name, value in drill)
    with st.container(border=True, key=f"drill_{key}"):
        head, close = st.columns([5, 1], vertical_alignment="center")
        head.markdown(f"**Calls behind {described}**: {formatting.count(total)} in this selection")
        if close.button("Close", key=f"{key}__close", icon=":material/close:"):
            _clear_drill()
            st.rerun()
        if total == 0:
            st.info("No calls behind this point in the current filters.")
            return
        first = page * PAGE_SIZE + 1
        st.caption(
            f"Calls {formatting.count(first)}–{formatting.count(first + len(rows) - 1)} of {formatting.count(total)}, "
            "newest first. The URL links to this view."
        )
        downloadable_table(rows, "calls", key=f"{key}__calls")
        if pages > 1:
            previous, where, following = st.columns([1, 2, 1], vertical_alignment="center")
            where.caption(f"Page {page + 1} of {pages}")
            # keyed by the page shown: a click delivered twice (clicks.py) finds the next page's buttons and stops
            if previous.button("Previous", key=f"{key}__previous_{page + 1}", disabled=page == 0):
                st.query_params[PAGE_PARAM] = str(page)
                st.rerun()
            if following.button("Next", key=f"{key}__next_{page + 1}", disabled=page + 1 >= pages):
                st.query_params[PAGE_PARAM] = str(page + 2)
                st.rerun()
