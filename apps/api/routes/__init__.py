"""Every router of the API, one module per resource; `create_app` includes them in this order. A new resource adds
its module here (one line)."""

from __future__ import annotations

from apps.api.routes import (
    anomalies,
    ask,
    auth,
    forecasts,
    health,
    ingest,
    kpis,
    mcp_tools,
    me,
    models,
    oidc,
    projects,
    quarantine,
    reports,
    routing,
    sessions,
    tenants,
)

ROUTERS = [
    health.router,
    auth.router,
    oidc.router,
    me.router,
    reports.router,
    kpis.router,
    sessions.router,
    projects.router,
    models.router,
    mcp_tools.router,
    quarantine.router,
    forecasts.router,
    anomalies.router,
    routing.router,
    ask.router,
    ingest.router,
    tenants.router,
]
