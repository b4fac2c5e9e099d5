"""Structured JSON logs (structlog) carrying the request id or pipeline run id, never secrets or prompt text.

`AIOA_LOG_FORMAT=json` turns every standard-library log record of the process (ours, uvicorn's, Dagster's) into one
JSON object per line: time, level, logger, event, `request_id` / `run_id` when one is bound, and the record's extra
fields with sensitive ones masked. The ids live in context variables, so code deep in a request needs no plumbing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aioa.settings import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("aioa_request_id", default=None)
RUN_ID: ContextVar[str | None] = ContextVar("aioa_run_id", default=None)

# Field names whose values never reach a log line (compared lower-case, by substring).
SENSITIVE_FIELDS = (
    "password",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "prompt",
    "question",
    "content",
    "text",
    "dsn",
)
REDACTED = "[redacted]"
# Values that look like credentials wherever they appear in a message: bearer tokens, JWTs, our API keys, URL passwords.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + REDACTED),
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\baioa_[A-Za-z0-9_-]{12,}"), "aioa_" + REDACTED),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1" + REDACTED + "@"),
)
_RESERVED = {"event", "level", "timestamp", "logger", "request_id", "run_id", "exception"}
_configured_format: str | None = None


def redact(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask sensitive fields and credential-looking substrings."""
    for key in list(event):
        if key in _RESERVED:
            continue
        if any(word in key.lower() for word in SENSITIVE_FIELDS):
            event[key] = REDACTED
        elif isinstance(event[key], str):
            event[key] = scrub(event[key])
    if isinstance(event.get("event"), str):
        event["event"] = scrub(event["event"])
    return event


def scrub(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def add_ids(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    if (request_id := REQUEST_ID.get()) is not None:
        event.setdefault("request_id", request_id)
    if (run_id := RUN_ID.get()) is not None:
        event.setdefault("run_id", run_id)
    return event


def configure_logging(settings: Settings, *, stream=None) -> None:
    """Route the process's logging through structlog's JSON renderer when `AIOA_LOG_FORMAT=json` (idempotent)."""
    global _configured_format
    if settings.log_format != "json" or _configured_format == "json" and stream is None:
        return
    import structlog

    shared = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        add_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn configured its own handlers first
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _configured_format = "json"


@contextmanager
def bound_run_id(run_id: str | None) -> Iterator[None]:
    """Log lines inside carry `run_id` (a pipeline run, an ingest run)."""
    token = RUN_ID.set(run_id)
    try:
        yield
    finally:
        RUN_ID.reset(token)


def with_run_id(function):
    """Decorator for a pipeline run `function(settings, sources, report, **options)`: the report gets its run id
    before the run starts, and every log line of the run carries it as `run_id`."""
    import uuid
    from functools import wraps

    @wraps(function)
    def wrapper(settings, sources, report, **options):
        report.run_id = report.run_id or str(uuid.uuid4())
        with bound_run_id(report.run_id):
            return function(settings, sources, report, **options)

    return wrapper
