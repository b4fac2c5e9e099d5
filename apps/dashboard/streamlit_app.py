"""AI Orchestration Analytics: the dashboard. One entrypoint; pages live in app_pages/ and only render."""

import streamlit as st

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

st.navigation(PAGES).run()
