"""Every router of the API, one module per resource; `create_app` includes them in this order. A new resource adds
its module here (one line)."""

from __future__ import annotations

from apps.api.routes import (
    ask,
    auth,
    chat,
    health,
    incidents,
    ingest,
    kpis,
    lists,
    me,
    oidc,
    otlp,
    quarantine,
    reports,
    routing,
    tenants,
)

ROUTERS = [
    health.router,
    auth.router,
    oidc.router,
    me.router,
    reports.router,
    kpis.router,
    lists.router,  # sessions, projects, models, MCP tools, forecasts, anomalies
    quarantine.router,
    routing.router,
    ask.router,
    ingest.router,
    otlp.router,  # OTLP/HTTP receiver: /v1/traces, /v1/logs, /v1/metrics
    tenants.router,
    incidents.router,  # signed acknowledge/resolve links of notifications
    chat.router,  # Slack and Teams bots (request signatures verified)
]
