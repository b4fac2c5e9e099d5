"""Data quality: the latest expectation-suite results and the quarantined input with file, line and reason."""

import loaders
import streamlit as st
from page_kit import downloadable_table, page_context

from aioa import formatting

context = page_context()
st.title("Data quality")
checks = loaders.latest_quality_checks(context.version, context.scope)
if context.scope.org_ids is not None:
    st.info("The expectation suites check every org's data at once; their results are shown to operators only.")
elif checks.empty:
    st.info("No quality checks have run on this snapshot; `uv run aioa run` runs them.")
else:
    failed = checks[~checks.success]
    columns = st.columns(3)
    columns[0].metric("Expectations", len(checks))
    columns[1].metric("Failed (error)", int((failed.severity == "error").sum()))
    columns[2].metric("Failed (warning)", int((failed.severity != "error").sum()))
    downloadable_table(checks, "quality_checks")
st.subheader("Quarantined input")
reasons = loaders.quarantine_reasons(context.version, context.scope)
if reasons.empty:
    st.success("No quarantined input.")
else:
    st.caption(
        f"{formatting.count(reasons['lines'].sum())} lines rejected or flagged, for {len(reasons)} reason(s); "
        "`aioa quarantine` lists them with file and line."
    )
    downloadable_table(reasons, "quarantine_reasons")
    with st.expander("Every quarantined line (latest 500)"):
        downloadable_table(loaders.quarantined_input(context.version, context.scope), "quarantine")
