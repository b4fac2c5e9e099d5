"""Anomalies: cost spikes, usage surges, error bursts and latency degradation, each with what drove it."""

import streamlit as st
from page_kit import data, downloadable_table, require_snapshot, tenant_scope

version = require_snapshot()
scope = tenant_scope()
st.title("Anomalies")
anomalies = data("ml_table", version, None, scope.org_ids, table="anomalies")
if anomalies is None:
    st.info("Anomaly detection has not run yet. Run `uv run aioa anomalies` (or `make demo`).")
elif anomalies.empty:
    st.success("No anomalies detected in the data.")
else:
    downloadable_table(anomalies, "anomalies")
