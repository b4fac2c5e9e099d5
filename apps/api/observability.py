"""The API's metrics, request ids, traces and JSON logs: one pure ASGI middleware and `/metrics`.

`install_observability(app, settings)` (called once by `create_app`) adds `RequestMetrics`, which per request takes a
clock reading, keeps the status from `http.response.start` and records it in `RequestStats` (plain ints, ~1 us; no
BaseHTTPMiddleware, no body buffering). The route is the template (`/v1/reports/{kind}`), never the raw path, so label
cardinality stays bounded. It also answers `GET /metrics` (Prometheus text format; counts only, no tenant data) and
echoes or assigns `X-Request-ID`, which the JSON logs carry. With several uvicorn workers each counts its own requests:
run one worker per pod and scale with replicas. With `AIOA_OTEL_EXPORTER_ENDPOINT` set, FastAPI's OpenTelemetry instrumentation traces every request.
"""

from __future__ import annotations

import itertools
import re
import secrets
from bisect import bisect_left
from time import perf_counter

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from aioa.ops import tracing
from aioa.ops.logs import REQUEST_ID, configure_logging
from aioa.settings import Settings

METRICS_PATH = "/metrics"
UNMATCHED = "(unmatched)"  # 404s and scanners: one label value, whatever the path
NOT_TRACED = "healthz,readyz,metrics"
_ID_PREFIX = secrets.token_hex(4)  # per process: ids are unique across replicas without a random draw per request
_ID_COUNTER = itertools.count(1)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # a caller's id is kept only if it cannot forge a log
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestStats(Collector):
    """Per (method, route template, status): counts per latency bucket and their sum, kept in plain ints and floats.

    Only the event loop's thread touches them (the middleware and `/metrics` both run there), so no lock is needed:
    recording a request is a dict lookup, a bisect and three additions (~1 us; prometheus_client's locked
    Histogram plus Counters cost several times that). Errors (5xx) and auth failures (401/403) are derived from the
    same table when Prometheus scrapes."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str, int], list] = {}  # key -> [bucket counts..., +Inf count, sum]
        self.in_flight = 0

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self.series.get((method, route, status))
        if series is None:
            series = self.series[(method, route, status)] = [0] * (len(BUCKETS) + 1) + [0.0]
        series[bisect_left(BUCKETS, seconds)] += 1
        series[-1] += seconds

    def collect(self):
        latency = HistogramMetricFamily(
            "aioa_http_request_duration_seconds",
            "API request latency by method, route template and status.",
            labels=["method", "route", "status"],
        )
        errors = CounterMetricFamily(
            "aioa_http_server_errors",
            "API answers with status 5xx (or an exception) by route.",
            labels=["method", "route"],
        )
        refused = CounterMetricFamily(
            "aioa_auth_failures",
            "Requests refused for authentication (401) or permission (403), by route.",
            labels=["route", "status"],
        )
        error_counts: dict[tuple[str, str], int] = {}
        for (method, route, status), series in sorted(self.series.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), series[:-1], strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            latency.add_metric([method, route, str(status)], buckets, series[-1])
            if status >= 500:
                error_counts[(method, route)] = error_counts.get((method, route), 0) + cumulative
            elif status in (401, 403):
                refused.add_metric([route, str(status)], cumulative)
        for (method, route), count in error_counts.items():
            errors.add_metric([method, route], count)
        in_flight = GaugeMetricFamily("aioa_http_requests_in_flight", "API requests being answered now.")
        in_flight.add_metric([], self.in_flight)
        yield from (latency, errors, refused, in_flight)


STATS = RequestStats()
REGISTRY.register(STATS)  # beside the client library's process, platform and GC collectors


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
        STATS.in_flight += 1
        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        except BaseException:
            status = 500
            raise
        finally:
            elapsed = perf_counter() - started
            STATS.in_flight -= 1
            REQUEST_ID.reset(token)
            route = scope.get("route")
            STATS.record(scope["method"], getattr(route, "path", None) or UNMATCHED, status, elapsed)


def _request_id(scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
            break
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"  # no syscall per request (os.urandom costs several us here)


async def _send_metrics(send) -> None:
    body = generate_latest(REGISTRY)
    headers = [(b"content-type", CONTENT_TYPE_LATEST.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
