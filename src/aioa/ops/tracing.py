"""OpenTelemetry tracing of API requests, questions, pipeline runs and ingest batches.

Off unless `AIOA_OTEL_EXPORTER_ENDPOINT` names an OTLP/HTTP traces endpoint: then `configure()` builds this
process's tracer provider (batching OTLP exporter, `service.name` per role). With tracing off, `span()` costs one
`None` check and OpenTelemetry is not even imported. Tests install a provider of their own with `use_provider()`
(e.g. with the SDK's InMemorySpanExporter): nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from typing import TYPE_CHECKING, Any

from aioa.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

_provider: TracerProvider | None = None


def configure(settings: Settings, service: str) -> TracerProvider | None:
    """This process's tracer provider: the one already in use, else an OTLP/HTTP exporter when configured."""
    global _provider
    if _provider is not None or not settings.otel_exporter_endpoint:
        return _provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "aioa"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_exporter_endpoint)))
    _provider = provider
    return provider


def use_provider(provider: TracerProvider | None) -> None:
    """Install (or remove, with None) the process's tracer provider: for tests and embedding."""
    global _provider
    _provider = provider


def active_provider() -> TracerProvider | None:
    return _provider


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span named `name` under the current one (e.g. the request's), or nothing when tracing is off. Attributes
    are ids, counts and names: never prompt text, questions or secrets."""
    if _provider is None:
        yield None
        return
    tracer = _provider.get_tracer("aioa")
    with tracer.start_as_current_span(name, attributes=_plain(attributes)) as current:
        yield current


def _plain(attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, str | bool | int | float) else str(value)
        for key, value in attributes.items()
        if value is not None
    }


def traced(name: str, attributes: Callable[..., dict[str, Any]] | None = None):
    """Decorator: the call runs in a span `name`; `attributes(*args, **kwargs)` (evaluated after the call, so it can
    read what the call filled in) names what the span was about. A no-op call-through when tracing is off."""

    def decorate(function):
        @wraps(function)
        def wrapper(*args, **kwargs):
            if _provider is None:
                return function(*args, **kwargs)
            with span(name) as current:
                try:
                    return function(*args, **kwargs)
                finally:
                    if attributes is not None:
                        with suppress(Exception):  # a missing attribute must never fail the traced work
                            current.set_attributes(_plain(attributes(*args, **kwargs)))

        return wrapper

    return decorate
