"""What every page shares: the page context the entrypoint prepares once per run (snapshot version, tenant scope,
the global filters kept in the URL), tables with downloads, and empty states. Pages only render; their numbers come
from the typed loaders in `loaders.py`."""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import date, timedelta

import loaders
import pandas as pd
import streamlit as st

from aioa.analytics import Filters
from aioa.identity.permissions import scope_for
from aioa.identity.principal import Principal
from aioa.settings import get_settings
from aioa.warehouse.access import TenantScope

DEFAULT_DAYS = 30
FILL_COMMAND = "`make demo` (sample data) or `uv run aioa run` (your own logs)"


def tenant_scope(principal: Principal) -> TenantScope:
    """The rows the signed-in principal may read (from identity, never from the URL or the environment)."""
    return scope_for(principal)


def draw_branding(principal: Principal) -> None:
    """The org's white-label name, logo and colour (tenant settings) at the top of the sidebar."""
    if principal.org_id is None:
        return
    from aioa.tenants.settings_doc import tenant_settings

    settings = get_settings()
    branding = tenant_settings(settings, principal.org_id).branding
    logo = branding.logo
    if logo and "://" not in logo:
        logo = str(settings.home / "branding" / logo) if (settings.home / "branding" / logo).is_file() else None
    if logo:
        st.logo(logo)
    name = html.escape(branding.display_name or principal.org_id)
    colour = branding.primary_color or "inherit"  # validated as #rrggbb: safe in a style attribute
    st.sidebar.html(f'<div style="border-left: 6px solid {colour}; padding-left: 8px; font-weight: 600">{name}</div>')


def snapshot_version() -> str | None:
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot

    if get_settings().warehouse == "postgres":
        return loaders.server_version()
    try:
        return current_snapshot(get_settings())[0]
    except NoSnapshotError:
        return None


CONTEXT_KEY = "aioa_page_context"


@dataclass(frozen=True)
class PageContext:
    """What a page reads with: the published snapshot it shows, whose data it may show, and the chosen filters
    (the default window when the page has no filters)."""

    version: str
    scope: TenantScope
    filters: Filters
    principal: Principal


def prepare_page_context(principal: Principal, *, with_filters: bool) -> PageContext:
    """Called once per run by the entrypoint before the page runs: stops with a hint when there is nothing to show,
    draws the sidebar filters for pages that use them, and hands the context to the page."""
    version = require_snapshot()
    scope = tenant_scope(principal)
    filters = sidebar_filters(version, scope) if with_filters else Filters()
    context = PageContext(version, scope, filters, principal)
    st.session_state[CONTEXT_KEY] = context
    return context


def page_context() -> PageContext:
    """The context the entrypoint prepared for this run."""
    return st.session_state[CONTEXT_KEY]


def require_snapshot() -> str:
    version = snapshot_version()
    if version is None:
        st.info(f"No data yet. Run {FILL_COMMAND}; this page fills in as soon as a snapshot is published.")
        st.stop()
    if not loaders.marts_built(version):
        st.info(f"The marts have not been built yet. Run {FILL_COMMAND} to build them.")
        st.stop()
    return version


def _param_list(name: str) -> list[str]:
    value = st.query_params.get(name)
    return [part for part in value.split(",") if part] if value else []


def sidebar_filters(version: str, scope: TenantScope) -> Filters:
    """Date range, org, team, project and model, initialised from and written back to the URL."""
    options = loaders.filter_options(version, scope)
    first, last = options["first_day"], options["last_day"]
    if last is None:
        st.info("There are no usage rows you may see yet (your role shows your team's and your own rows).")
        st.stop()
    default_start = max(first, last - timedelta(days=DEFAULT_DAYS - 1))  # deltas compare with the 30 days before
    start = date.fromisoformat(st.query_params.get("start", str(default_start)))
    end = date.fromisoformat(st.query_params.get("end", str(last)))
    with st.sidebar:
        st.caption(f"Snapshot {version}")
        picked = st.date_input("Date range", value=(start, end), min_value=first, max_value=last, key="dates")
        chosen = {}
        for name, label in (("orgs", "Org"), ("teams", "Team"), ("projects", "Project"), ("models", "Model")):
            if len(options[name]) < 2:  # one value (a member's own org or team) leaves nothing to choose
                chosen[name] = []
                continue
            defaults = [value for value in _param_list(name) if value in options[name]]
            chosen[name] = st.multiselect(label, options[name], default=defaults, key=f"filter_{name}")
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    for org_id, _, archived_until, calls in loaders.archived_ranges(version, scope):
        if start <= archived_until:
            st.sidebar.caption(
                f"Calls of {org_id} up to {archived_until} ({calls:,}) come from the archive (Parquet, by retention)."
            )
    filters = Filters(start, end, *(tuple(chosen[name]) for name in ("orgs", "teams", "projects", "models")))
    st.query_params.update(
        {"start": str(start), "end": str(end), **{name: ",".join(values) for name, values in chosen.items()}}
    )
    for name, values in chosen.items():
        if not values:
            st.query_params.pop(name, None)
    return filters


def downloadable_table(frame: pd.DataFrame, name: str, *, key: str | None = None) -> None:
    """The table (human labels, help and formats: `display.table`) and a download of the raw values in CSV, Excel,
    JSON and Parquet."""
    from display import table

    table(frame)
    if frame.empty:
        return
    key = key or name
    columns = st.columns(4)
    columns[0].download_button("CSV", frame.to_csv(index=False), f"{name}.csv", "text/csv", key=f"{key}-csv")
    excel = io.BytesIO()
    frame.apply(_naive).to_excel(excel, index=False)
    columns[1].download_button(
        "Excel",
        excel.getvalue(),
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
    )
    columns[2].download_button(
        "JSON",
        frame.to_json(orient="records", date_format="iso"),
        f"{name}.json",
        "application/json",
        key=f"{key}-json",
    )
    parquet = io.BytesIO()
    frame.to_parquet(parquet, index=False)
    columns[3].download_button(
        "Parquet", parquet.getvalue(), f"{name}.parquet", "application/octet-stream", key=f"{key}-parquet"
    )


def _naive(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):  # Excel has no time zones
        return column.dt.tz_localize(None)
    return column


def selected_value(event, field: str) -> str | None:
    """The x (or y) value of the first clicked point of a Plotly chart, for drill-down."""
    points = (
        (event or {}).get("selection", {}).get("points", [])
        if isinstance(event, dict)
        else (event.selection.points if event is not None and hasattr(event, "selection") else [])
    )
    return str(points[0][field]) if points else None
