"""The FastAPI application: `create_app()` wires settings, the routers of `routes.ROUTERS`, the audit of every
`/v1` request and the error answers. `aioa serve` runs it with uvicorn; OpenAPI is at `/docs`."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from apps.api.audit import AuditRequests
from apps.api.cache import answer_cache
from apps.api.json_response import OrjsonResponse
from apps.api.observability import install_observability
from apps.api.routes import ROUTERS
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from aioa.identity.audit_writer import AuditWriter
from aioa.identity.permissions import Forbidden
from aioa.settings import Settings, get_settings
from aioa.warehouse.connection import QueryTimeout

log = logging.getLogger("aioa.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="AI Orchestration Analytics API",
        version="1",
        summary="Usage, cost, questions, routing and ingest for your org; every answer is scoped to the caller.",
        docs_url="/docs",
        default_response_class=OrjsonResponse,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.answer_cache = answer_cache(settings)
    app.state.audit_writer = AuditWriter(settings)  # every /v1 request's entry, appended off the request path
    if settings.auth == "off":
        log.warning("AIOA_AUTH=off: every request is the local operator (all orgs, admin); serve on 127.0.0.1 only")
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(AuditRequests)
    app.add_exception_handler(QueryTimeout, _query_timeout)
    app.add_exception_handler(Forbidden, _forbidden)
    install_observability(app, settings)  # metrics, request ids, traces, JSON logs
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # What is loaded by now (modules, the app) lives as long as the process: frozen, the cyclic collector stops
    # walking it on every full collection, a pause of milliseconds in a request's tail (`routing` freezes the models
    # it loads the same way). Unfrozen at shutdown, so an app started and stopped inside a longer process (tests)
    # leaves nothing uncollectable behind.
    gc.freeze()
    yield
    gc.unfreeze()
    app.state.audit_writer.close()  # the queued entries are written before the process ends
    # Routing decisions are buffered; uvicorn re-raises SIGTERM after shutdown, so atexit would not run.
    from ml.routing.decisions import flush_all

    flush_all()


async def _query_timeout(request: Request, error: QueryTimeout) -> JSONResponse:
    return JSONResponse(
        {"detail": f"{error}: narrow the date range or filters"}, status_code=status.HTTP_504_GATEWAY_TIMEOUT
    )


async def _forbidden(request: Request, error: Forbidden) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status.HTTP_403_FORBIDDEN)
