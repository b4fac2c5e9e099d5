"""AI Orchestration Analytics: the dashboard. One entrypoint: it checks the snapshot, draws the shared filters and
hands both to the page (`page_kit.page_context()`); pages live in app_pages/ and only render."""

import streamlit as st
from page_kit import prepare_page_context
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from aioa.errors import report_error

st.set_page_config(page_title="AI Orchestration Analytics", page_icon=":material/insights:", layout="wide")

PAGES = {
    "Usage": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("app_pages/costs.py", title="Costs", icon=":material/payments:"),
        st.Page("app_pages/projects.py", title="Projects", icon=":material/folder:"),
        st.Page("app_pages/sessions.py", title="Sessions & agents", icon=":material/timeline:"),
        st.Page("app_pages/mcp_tools.py", title="MCP & tools", icon=":material/build:"),
    ],
    "Intelligence": [
        st.Page("app_pages/routing.py", title="Routing", icon=":material/alt_route:"),
        st.Page("app_pages/forecasts.py", title="Forecasts & budgets", icon=":material/trending_up:"),
        st.Page("app_pages/anomalies.py", title="Anomalies", icon=":material/warning:"),
    ],
    "Data": [
        st.Page("app_pages/quality.py", title="Data quality", icon=":material/fact_check:"),
        st.Page("app_pages/ask.py", title="Ask", icon=":material/chat:"),
    ],
}

# Pages whose numbers follow the sidebar's date range, org, team, project and model filters.
FILTERED_PAGES = {"Overview", "Costs", "Projects", "Sessions & agents", "MCP & tools", "Routing"}

page = st.navigation(PAGES)
try:
    prepare_page_context(with_filters=page.title in FILTERED_PAGES)
    page.run()
except ScriptControlException:  # st.stop(), st.rerun() and page switches are control flow, not errors
    raise
except Exception as error:  # noqa: BLE001 - users get a short message and a reference, the log gets the details
    problem = report_error(error, where=f"app page {page.title}")
    st.error(f"{problem.message} {problem.next_step}\n\nReference: `{problem.reference}`", icon=":material/error:")
