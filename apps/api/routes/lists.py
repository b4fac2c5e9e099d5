"""The paged lists: `GET /v1/sessions`, `/projects`, `/models`, `/mcp-tools`, `/forecasts`, `/anomalies`. One table
says what each reads and which permission it needs; one handler serves them all (filters, scope, paging, audit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import pandas as pd
from apps.api.deps import ReaderDep, ScopeDep, note, require
from apps.api.schemas import MAX_ROWS, Page, PageParams, UsageFilters, filter_frame, page_of, records
from fastapi import APIRouter, Query, Request

from aioa.analytics import behaviour, queries
from aioa.warehouse.access import TenantScope
from aioa.warehouse.connection import TimedReader

Rows = Callable[[TimedReader, UsageFilters, TenantScope], pd.DataFrame | None]


@dataclass(frozen=True)
class ListEndpoint:
    path: str
    permission: str
    tag: str
    summary: str
    rows: Rows
    description: str = ""


def _ml_table(table: str) -> Rows:
    return lambda reader, filters, scope: filter_frame(queries.ml_table(reader, scope, table), filters)


LISTS = (
    ListEndpoint(
        "/sessions",
        "usage:read",
        "usage",
        "Sessions, most expensive first (cost, calls, subagents, tool calls, errors)",
        lambda reader, filters, scope: queries.sessions_timeline(reader, filters.to_filters(), scope, limit=MAX_ROWS),
    ),
    ListEndpoint(
        "/projects",
        "usage:read",
        "usage",
        "Per org, project group and project: spend in the period, lifetime totals, active span",
        lambda reader, filters, scope: queries.projects_overview(reader, filters.to_filters(), scope),
    ),
    ListEndpoint(
        "/models",
        "usage:read",
        "usage",
        "Spend, tokens, calls and errors per model, largest spend first",
        lambda reader, filters, scope: queries.spend_by(reader, filters.to_filters(), scope, "model"),
    ),
    ListEndpoint(
        "/mcp-tools",
        "usage:read",
        "usage",
        "Per MCP server and tool: calls, success rate, mean latency, share of tokens",
        lambda reader, filters, scope: queries.mcp_tools(reader, filters.to_filters(), scope),
    ),
    ListEndpoint(
        "/team-behaviour",
        "usage:read",
        "usage",
        "Per team: sessions, session length and cost, calls and tools per session, models and tools used",
        lambda reader, filters, scope: behaviour.behaviour_by(reader, filters.to_filters(), scope, "team"),
    ),
    ListEndpoint(
        "/user-behaviour",
        "usage:read",
        "usage",
        "Per user: sessions, session length and cost, calls and tools per session, models and tools used",
        lambda reader, filters, scope: behaviour.behaviour_by(reader, filters.to_filters(), scope, "user"),
    ),
    ListEndpoint(
        "/workflow-patterns",
        "usage:read",
        "usage",
        "Frequent sequences of 2-3 tool calls with support, error lift and expensive-session lift",
        lambda reader, filters, scope: behaviour.workflow_patterns(reader, filters.to_filters(), scope),
        "Sequences in at least 3 sessions of the selection; see docs/analytics.md for the definitions.",
    ),
    ListEndpoint(
        "/project-phases",
        "usage:read",
        "usage",
        "Each project's weekly usage and lifecycle phase (ramp-up, steady, wind-down) over its whole life",
        lambda reader, filters, scope: behaviour.project_phases(reader, filters.to_filters(), scope),
        "Org-level totals: a key or an Admin reads them; a User's or Viewer's narrowed rows give none.",
    ),
    ListEndpoint(
        "/forecasts",
        "ml:read",
        "ml",
        "Forecasts (actual, forecast, interval per day)",
        _ml_table("forecasts"),
        "Empty until the forecasting assets have run (`aioa run` or `aioa forecast`).",
    ),
    ListEndpoint(
        "/anomalies",
        "ml:read",
        "ml",
        "Detected anomalies with their drivers",
        _ml_table("anomalies"),
        "Empty until anomaly detection has run (`aioa run` or `aioa anomalies`).",
    ),
)


def _handler(endpoint: ListEndpoint):
    def list_rows(
        request: Request,
        scope: ScopeDep,
        reader: ReaderDep,
        filters: Annotated[UsageFilters, Query()],
        page: Annotated[PageParams, Query()],
    ) -> Page:
        result = page_of(records(endpoint.rows(reader, filters, scope)), page)
        note(request, rows=len(result.items))
        return result

    return list_rows


router = APIRouter(prefix="/v1")
for _endpoint in LISTS:
    router.add_api_route(
        _endpoint.path,
        _handler(_endpoint),
        methods=["GET"],
        name=_endpoint.path.strip("/").replace("-", "_"),
        dependencies=[require(_endpoint.permission)],
        tags=[_endpoint.tag],
        summary=_endpoint.summary,
        description=_endpoint.description,
        response_model=Page,
    )
