"""Comparisons & KPIs: this period against the one before, a team or project against another (per-session cost,
with a significance test), and the KPIs teams defined as formulas over the registered metrics."""

from dataclasses import replace

import loaders
import pandas as pd
import plotly.express as px
import streamlit as st
from display import axis_labels, table
from page_kit import downloadable_table, page_context
from signin import may

from aioa import formatting
from aioa.analytics import kpi_store
from aioa.analytics.compare import Compared
from aioa.analytics.kpi_formula import BREAKDOWNS, FormulaError
from aioa.identity.permissions import Forbidden
from aioa.metrics import METRICS
from aioa.settings import get_settings

UNIT_NAMES = {"usd": "US dollars", "ratio": "Percentage", "count": "Count", "number": "Number"}

context = page_context()
version, filters, scope, principal = context.version, context.filters, context.scope, context.principal
st.title("Comparisons & KPIs")


def owner_of(team_id: str) -> str:
    return "whole org" if team_id == kpi_store.ORG_WIDE else f"team {team_id}"


def show(compared: Compared, key: str) -> None:
    """The two sides' numbers, the test's verdict in words, and the sessions' costs side by side."""
    test = compared.test
    (st.success if test.significant else st.info)(test.verdict, icon=":material/science:")
    if test.ci_low is not None:
        st.caption(
            f"Median cost per session {formatting.money(test.median_a, 4)} against {formatting.money(test.median_b, 4)};"
            f" difference {formatting.signed_money(test.median_difference, 4)} (95% bootstrap interval "
            f"{formatting.money(test.ci_low, 4)} to {formatting.money(test.ci_high, 4)}). Mann–Whitney U test on "
            f"{formatting.count(test.sessions_a)} and {formatting.count(test.sessions_b)} sessions"
            + (
                f"; {formatting.count(test.unpriced_sessions)} without a known cost left out."
                if test.unpriced_sessions
                else "."
            )
        )
    table(compared.summary)
    if not compared.sessions.empty:
        st.plotly_chart(
            px.box(
                compared.sessions,
                x="group",
                y="cost_usd",
                color="group",
                points="outliers",
                labels={**axis_labels("group"), "cost_usd": "Cost per session (USD, log scale)"},
                title="Cost per session (USD)",
            )
            .update_yaxes(tickprefix="$", type="log")
            .update_layout(showlegend=False),
            key=key,
        )


# --- period over period --------------------------------------------------------------------------------------------
st.subheader("This period against the one before")
if filters.start is None or filters.end is None:
    st.info("Pick a date range in the sidebar to compare it with the period before.")
else:
    before = filters.previous_period()
    st.caption(
        f"{formatting.day(filters.start)} to {formatting.day(filters.end)} against "
        f"{formatting.day(before.start)} to {formatting.day(before.end)}."
    )
    show(loaders.compare_periods(version, filters, scope), "compare_periods")

# --- group against group -------------------------------------------------------------------------------------------
st.subheader("Team against team, project against project")
options = loaders.filter_options(version, scope)
group = st.segmented_control(
    "Compare", ["team", "project"], default="team", format_func=formatting.label, key="compare_group"
)
group = group or "team"
values = options["teams" if group == "team" else "projects"]
if len(values) < 2:
    st.info(f"Fewer than two {group}s in the data you may read: nothing to compare.")
else:
    picks = st.columns(2)
    first = picks[0].selectbox(f"First {group}", values, index=0, key="compare_first")
    second = picks[1].selectbox(f"Second {group}", values, index=1, key="compare_second")
    if first == second:
        st.info(f"Pick two different {group}s.")
    else:
        show(loaders.compare_groups(version, filters, scope, group, first, second), "compare_groups")

# --- user-defined KPIs ---------------------------------------------------------------------------------------------
st.subheader("Team KPIs")
settings = get_settings()
org_id = principal.org_id
if org_id is None:  # the operator (sign-in off) picks the org whose KPIs to see
    org_id = st.selectbox("Org", options["orgs"], key="kpi_org") if options["orgs"] else None
if principal.is_operator or principal.role == "admin":
    kpi_teams = tuple(options["teams"])
else:
    kpi_teams = (principal.team_id,) if principal.team_id else ()
if org_id is None:
    st.info("No org to show KPIs for.")
    st.stop()
saved = kpi_store.list_kpis(settings, principal, kpi_teams, org_id=org_id)
by = st.selectbox(
    "Break down by",
    ["none", *BREAKDOWNS],
    format_func=lambda name: "Nothing (one number)" if name == "none" else formatting.label(name),
    key="kpi_by",
)
by_value = None if by == "none" else by
if not saved:
    st.info("No KPIs saved for your team yet." + (" Define one below." if may(principal, "kpis:write") else ""))
for kpi in saved:
    # a team's KPI reads that team's rows; an org-wide one the reader's rows of the org
    kpi_filters = replace(filters, teams=(kpi.team_id,)) if kpi.team_id != kpi_store.ORG_WIDE else filters
    values = loaders.kpi_values(version, kpi.formula, kpi_filters, scope.narrowed_to(org_id), by_value)
    owner = owner_of(kpi.team_id)
    if by == "none":
        value = values["value"].iloc[0] if len(values) else None
        st.metric(
            f"{kpi.name} ({owner})",
            formatting.FORMATTERS[kpi.unit](value),
            help=f"`{kpi.formula}`" + (f" — {kpi.description}" if kpi.description else ""),
        )
    else:
        st.markdown(f"**{kpi.name}** ({owner}): `{kpi.formula}`")
        shown = values.assign(**{by: values[by].astype(str)}) if by != "day" else values
        chart = px.line if by == "day" else px.bar
        st.plotly_chart(
            chart(shown, x=by, y="value", labels={**axis_labels(by), "value": kpi.name}, title=kpi.name),
            key=f"kpi_chart_{kpi.team_id}_{kpi.name}",
        )
        downloadable_table(values, f"kpi_{kpi.name}", key=f"kpi_table_{kpi.team_id}_{kpi.name}")

with st.expander("Metrics a formula may use"):
    table(
        pd.DataFrame(
            [
                {"name": name, "metric": metric.label, "description": metric.description}
                for name, metric in METRICS.items()
            ]
        )
    )

if may(principal, "kpis:write"):
    with st.form("kpi_form"):
        st.markdown("**Define a KPI**")
        name = st.text_input("Name", placeholder="Cost per session", key="kpi_name")
        formula = st.text_input(
            "Formula",
            placeholder="spend / sessions",
            help="Metric names, numbers, + - * / and brackets.",
            key="kpi_formula",
        )
        unit = st.selectbox("Reads as", kpi_store.UNITS, format_func=UNIT_NAMES.get, key="kpi_unit")
        writable = (kpi_store.ORG_WIDE, *kpi_teams) if principal.is_operator or principal.role == "admin" else kpi_teams
        team = st.selectbox(
            "For",
            writable,
            format_func=lambda team: "the " + owner_of(team) if team == kpi_store.ORG_WIDE else owner_of(team),
            key="kpi_team",
        )
        description = st.text_input("What it tells (optional)", key="kpi_description")
        submitted = st.form_submit_button("Save KPI")
    if submitted:
        try:
            kpi_store.save_kpi(
                settings,
                principal,
                team_id=team or "",
                name=name,
                formula=formula,
                unit=unit,
                description=description or None,
                org_id=org_id,
            )
        except (FormulaError, ValueError, Forbidden) as error:
            st.error(f"Not saved: {error}", icon=":material/error:")
        else:
            st.success(f"Saved KPI {name.strip()!r}.", icon=":material/check:")
            st.rerun()
    removable = [kpi for kpi in saved if kpi.team_id in writable]
    if removable:
        with st.expander("Remove a KPI"):
            picked = st.selectbox(
                "KPI", removable, format_func=lambda kpi: f"{kpi.name} ({owner_of(kpi.team_id)})", key="kpi_remove_pick"
            )
            if st.button("Remove KPI", key="kpi_remove"):
                kpi_store.delete_kpi(settings, principal, team_id=picked.team_id, name=picked.name, org_id=org_id)
                st.rerun()
