"""AI Orchestration Analytics: the dashboard. One entrypoint: it signs the user in, offers the pages their role may
see, checks the snapshot, draws the shared filters and hands all of it to the page (`page_kit.page_context()`);
pages live in app_pages/ and only render."""

import streamlit as st
from page_kit import draw_branding, prepare_page_context
from saved_views import saved_views_sidebar
from signin import current_principal, may
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from aioa.errors import report_error
from aioa.settings import get_settings
from live import watch

# An emoji favicon is drawn in the browser; a ":material/...:" one is fetched from fonts.gstatic.com (the app must
# not reach the internet).
st.set_page_config(page_title="AI Orchestration Analytics", page_icon="📊", layout="wide")

# section -> (file, title, icon, permission the page needs)
PAGES = {
    "Usage": [
        ("app_pages/my_usage.py", "My usage", ":material/person:", "usage:read"),
        ("app_pages/my_dashboard.py", "My dashboard", ":material/space_dashboard:", "usage:read"),
        ("app_pages/usage_map.py", "Usage map", ":material/map:", "usage:read"),
        ("app_pages/overview.py", "Overview", ":material/dashboard:", "usage:read"),
        ("app_pages/costs.py", "Costs", ":material/payments:", "usage:read"),
        ("app_pages/projects.py", "Projects", ":material/folder:", "usage:read"),
        ("app_pages/sessions.py", "Sessions & agents", ":material/timeline:", "usage:read"),
        ("app_pages/mcp_tools.py", "MCP & tools", ":material/build:", "usage:read"),
        ("app_pages/behaviour.py", "Behaviour & patterns", ":material/psychology:", "usage:read"),
        ("app_pages/comparisons.py", "Comparisons & KPIs", ":material/compare_arrows:", "usage:read"),
        ("app_pages/reports.py", "Reports", ":material/summarize:", "usage:read"),
    ],
    "Intelligence": [
        ("app_pages/routing.py", "Routing", ":material/alt_route:", "ml:read"),
        ("app_pages/forecasts.py", "Forecasts & budgets", ":material/trending_up:", "ml:read"),
        ("app_pages/anomalies.py", "Anomalies", ":material/warning:", "ml:read"),
        ("app_pages/automations.py", "Automations", ":material/bolt:", "rules:read"),
    ],
    "Data": [
        ("app_pages/quality.py", "Data quality", ":material/fact_check:", "quarantine:read"),
        ("app_pages/ask.py", "Ask", ":material/chat:", "ask:run"),
    ],
    "Admin": [
        ("app_pages/admin.py", "Admin", ":material/admin_panel_settings:", "users:manage"),
        ("app_pages/health.py", "Health", ":material/monitor_heart:", "audit:read"),
    ],
}

# Pages whose numbers follow the sidebar's date range, org, team, project and model filters.
FILTERED_PAGES = {
    "My dashboard",
    "Usage map",
    "Overview",
    "Costs",
    "Projects",
    "Sessions & agents",
    "MCP & tools",
    "Routing",
    "Behaviour & patterns",
    "Comparisons & KPIs",
    "Reports",
}
# Pages that need no published snapshot.
SNAPSHOT_FREE_PAGES = {"Admin", "Automations", "Health"}

# Pages that stay current while open: data age, and a re-read when a new snapshot is published (live.watch).
LIVE_PAGES = {"Overview", "My usage", "My dashboard", "Costs", "Sessions & agents", "MCP & tools"}

principal = current_principal()
draw_branding(principal)
# A person with their own usage ids opens on their personal dashboard; everyone else on the Overview.
default_title = "My usage" if principal.role == "user" and principal.usage_user_ids else "Overview"
navigation = {
    section: [
        st.Page(file, title=title, icon=icon, default=title == default_title)
        for file, title, icon, permission in pages
        if may(principal, permission) and (title != "My usage" or principal.usage_user_ids)
    ]
    for section, pages in PAGES.items()
}
# Expanded: Streamlit otherwise folds every page after the tenth behind "View more", which hid Intelligence, Data
# and Admin whole.
page = st.navigation({section: pages for section, pages in navigation.items() if pages}, expanded=True)
try:
    if page.title not in SNAPSHOT_FREE_PAGES:
        context = prepare_page_context(principal, with_filters=page.title in FILTERED_PAGES)
        if page.title in FILTERED_PAGES:
            saved_views_sidebar(principal, page, navigation)  # the team's named filter sets, by URL
        if page.title in LIVE_PAGES:
            watch(context)
    page.run()
    if page.title not in SNAPSHOT_FREE_PAGES:
        from aioa.identity import audit

        filters = {name: value for name, value in vars(context.filters).items() if value}
        audit.record(
            get_settings(),
            actor=principal,
            action="page.read",
            org_id=principal.org_id,
            target=page.title,
            detail={"filters": {name: str(value) for name, value in filters.items()}},
        )
except ScriptControlException:  # st.stop(), st.rerun() and page switches are control flow, not errors
    raise
except Exception as error:  # noqa: BLE001 - users get a short message and a reference, the log gets the details
    problem = report_error(error, where=f"app page {page.title}")
    st.error(f"{problem.message} {problem.next_step}\n\nReference: `{problem.reference}`", icon=":material/error:")
