"""The API's metrics, request ids, traces and JSON logs: one pure ASGI middleware and `/metrics`.

`install_observability(app, settings)` (called once by `create_app`) adds `RequestMetrics`, which per request takes a
clock reading, keeps the status from `http.response.start`, and observes one histogram child cached per (method,
route template, status): a few microseconds, no BaseHTTPMiddleware, no body buffering. The route is the template
(`/v1/reports/{kind}`), never the raw path, so label cardinality stays bounded. It also answers `GET /metrics`
(Prometheus text format; counters only: no tenant data) and echoes or assigns `X-Request-ID`, which the JSON logs
carry. With `AIOA_OTEL_EXPORTER_ENDPOINT` set, FastAPI's OpenTelemetry instrumentation traces every request.
"""

from __future__ import annotations

import os
import re
import secrets
from time import perf_counter

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from aioa.ops import tracing
from aioa.ops.logs import REQUEST_ID, configure_logging
from aioa.settings import Settings

METRICS_PATH = "/metrics"
UNMATCHED = "(unmatched)"  # 404s and scanners: one label value, whatever the path
NOT_TRACED = "healthz,readyz,metrics"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # a caller's id is kept only if it cannot forge a log

REQUEST_SECONDS = Histogram(
    "aioa_http_request_duration_seconds",
    "API request latency by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SERVER_ERRORS = Counter(
    "aioa_http_server_errors_total", "API answers with status 5xx (or an exception) by route.", ["method", "route"]
)
AUTH_FAILURES = Counter(
    "aioa_auth_failures_total",
    "Requests refused for authentication (401) or permission (403), by route.",
    ["route", "status"],
)
IN_FLIGHT = Gauge("aioa_http_requests_in_flight", "API requests being answered now.")

_latency_children: dict[tuple[str, str, int], object] = {}


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Metrics and request ids always; JSON logs and traces when configured. Call before the app serves."""
    configure_logging(settings)
    provider = tracing.configure(settings, service="aioa-api")
    if provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=NOT_TRACED)
    app.add_middleware(RequestMetrics)  # added last: outermost, so it times everything inside


class RequestMetrics:
    """Pure ASGI middleware: latency, errors and auth failures per route template; `/metrics`; X-Request-ID."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == METRICS_PATH and scope["method"] == "GET":
            await _send_metrics(send)
            return
        request_id = _request_id(scope)
        header = (b"x-request-id", request_id.encode())
        status = 500

        async def send_with_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = REQUEST_ID.set(request_id)
        IN_FLIGHT.inc()
        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        except BaseException:
            status = 500
            raise
        finally:
            elapsed = perf_counter() - started
            IN_FLIGHT.dec()
            REQUEST_ID.reset(token)
            _observe(scope, status, elapsed)


def _observe(scope, status: int, elapsed: float) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or UNMATCHED
    method = scope["method"]
    key = (method, template, status)
    child = _latency_children.get(key)
    if child is None:
        child = _latency_children[key] = REQUEST_SECONDS.labels(method, template, str(status))
    child.observe(elapsed)
    if status >= 500:
        SERVER_ERRORS.labels(method, template).inc()
    elif status in (401, 403):
        AUTH_FAILURES.labels(template, str(status)).inc()


def _request_id(scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
            break
    return secrets.token_hex(8)


async def _send_metrics(send) -> None:
    body = generate_latest(_exposition_registry())
    headers = [(b"content-type", CONTENT_TYPE_LATEST.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _exposition_registry() -> CollectorRegistry:
    """This process's registry, or, with several uvicorn workers and PROMETHEUS_MULTIPROC_DIR set, all workers'."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
