"""Health (Admins): each component's status, the service-level objectives with the error budget left (exactly what
`aioa doctor --json` reports, from aioa.ops.slo) and our own spans received by our own OTLP receiver."""

import pandas as pd
import streamlit as st
from signin import signed_in

from aioa.identity.permissions import check
from aioa.ops.self_observation import own_spans
from aioa.ops.slo import operations_status
from aioa.settings import get_settings

PERMISSION = "audit:read"  # operations are an Admin's: the same table that guards the Admin page's audit log
STATUS_ICONS = {"ok": "✅", "warn": "⚠️", "error": "❌", "unknown": "❔"}

me = signed_in()
check(me, PERMISSION)
settings = get_settings()
st.title("Health")


@st.cache_data(ttl=30, show_spinner="Checking the components…")
def _status() -> dict:
    return operations_status(get_settings())


status = _status()
st.caption("The same figures as `aioa doctor --json`; re-checked every 30 s.")

st.subheader("Components")
components = pd.DataFrame(status["components"])
components.insert(0, "", components["status"].map(STATUS_ICONS))
st.dataframe(components, hide_index=True, use_container_width=True)

st.subheader("Service-level objectives")
slos = {slo["name"]: slo for slo in status["slos"]}
columns = st.columns(3)
availability, latency, freshness = slos["availability"], slos["p95 latency"], slos["freshness"]
if "value" in availability:
    columns[0].metric(
        f"Availability (target {availability['target']:.1%})",
        f"{availability['value']:.3%}",
        f"{availability['error_budget_left']:.0%} error budget left",
        delta_color="normal" if availability["error_budget_left"] > 0 else "inverse",
    )
    columns[0].caption(f"{availability['requests']:,} requests, {availability['errors']:,} errors")
else:
    columns[0].metric(f"Availability (target {availability['target']:.1%})", "unknown")
    columns[0].caption("The API does not answer at AIOA_API_URL.")
p95 = latency.get("value_s_at_most")
columns[1].metric(
    f"p95 latency (target {latency['target_s']:g} s)",
    "unknown" if p95 is None else f"≤ {p95:g} s",
    None if latency["status"] == "unknown" else latency["status"],
    delta_color="off",
)
if "snapshot_age_hours" in freshness:
    columns[2].metric(
        f"Freshness (target {freshness['target_hours']:g} h)",
        f"{freshness['snapshot_age_hours']:.1f} h",
        f"{freshness['error_budget_left']:.0%} error budget left",
        delta_color="normal" if freshness["error_budget_left"] > 0 else "inverse",
    )
else:
    columns[2].metric(f"Freshness (target {freshness['target_hours']:g} h)", "no snapshot")
st.caption(availability["window"])
with st.expander("As JSON"):
    st.json(status)

st.subheader("Self-observation")
spans = own_spans(settings, me.org_id)
if spans.empty:
    st.info(
        "None of our own spans have come back yet. Point the services' exporter at the API's receiver: "
        "`AIOA_OTEL_EXPORTER_ENDPOINT=<api>/v1/traces` and `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <ingest key>`."
    )
else:
    st.caption("aioa's own spans (service.namespace=aioa) received by aioa's OTLP receiver, newest inbox files.")
    st.dataframe(spans, hide_index=True, use_container_width=True)
