"""OTLP/HTTP payloads (protobuf or JSON, optionally gzip) checked and kept as OTLP/JSON lines in the org's inbox.

Traces and logs go to `<home>/inbox/<org>/otel/`, which the OTel reader ingests like any export file; metrics go
to `<home>/inbox/<org>/otel_metrics/`, kept for replay but not modelled (Claude Code's metrics repeat the cost and
token counts of its `api_request` log events: reading both would count every call twice).

A protobuf request of traces or logs is kept as sent, base64 in a one-line JSON envelope
(`{"signal": "traces", "protobuf": "…"}`), and the reader decodes it: converting to OTLP/JSON here cost ≈ 40 µs of
CPU per span on the request path (json_format is pure Python), and the reader then parsed that JSON back. JSON
requests are kept as sent. The reader stores ids as hex text, whatever the wire format, so a span has the same
warehouse key (`otel:<trace>:<span>`) whether it arrived as protobuf, as JSON, or in an exported file.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

from apps.api import inbox
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from aioa.settings import Settings

MAX_BODY_BYTES = 16 * 1024 * 1024  # after decompression
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


@dataclass(frozen=True)
class Signal:
    name: str  # traces, logs, metrics
    request_type: type[Message]
    response_type: type[Message]
    folder: str  # inbox folder (= the registry source that reads it, or a folder no reader reads)
    items: str  # what `count` counts


SIGNALS = {
    "traces": Signal("traces", ExportTraceServiceRequest, ExportTraceServiceResponse, "otel", "spans"),
    "logs": Signal("logs", ExportLogsServiceRequest, ExportLogsServiceResponse, "otel", "log records"),
    "metrics": Signal("metrics", ExportMetricsServiceRequest, ExportMetricsServiceResponse, "otel_metrics", "metrics"),
}


class PayloadError(ValueError):
    """The body is not an OTLP export request of this signal (the message says why)."""


def decode(signal: Signal, body: bytes, content_type: str, content_encoding: str) -> tuple[Message, dict | None, bytes]:
    """The export request, the JSON document when it came as JSON (None for protobuf) and the uncompressed body.

    Raises PayloadError."""
    body = _decompressed(body, content_encoding)
    is_json = "json" in content_type
    if not is_json and "protobuf" not in content_type:
        raise PayloadError(f"content type {content_type!r}: send application/x-protobuf or application/json")
    message = signal.request_type()
    if not is_json:
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError) as error:
            raise PayloadError(f"not a protobuf {signal.request_type.__name__}: {error}") from None
        return message, None, body
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise PayloadError(f"malformed JSON: {error}") from None
    if not isinstance(payload, dict):
        raise PayloadError("the body must be a JSON object (an OTLP export request)")
    try:  # OTLP/JSON receivers ignore fields they do not know (the spec's forward compatibility)
        json_format.ParseDict(payload, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError) as error:
        raise PayloadError(f"invalid OTLP/JSON {signal.request_type.__name__}: {str(error)[:300]}") from None
    return message, payload, body


def count(signal: Signal, message: Message) -> int:
    if signal.name == "traces":
        return sum(len(scope.spans) for resource in message.resource_spans for scope in resource.scope_spans)
    if signal.name == "logs":
        return sum(len(scope.log_records) for resource in message.resource_logs for scope in resource.scope_logs)
    return sum(len(scope.metrics) for resource in message.resource_metrics for scope in resource.scope_metrics)


def as_line(signal: Signal, body: bytes, message: Message, payload: dict | None) -> str:
    """The inbox line: a JSON body as sent (compact); a protobuf one in its envelope (metrics: as OTLP/JSON)."""
    if payload is not None:
        return json.dumps(payload, separators=(",", ":"))
    if signal.folder == "otel":
        return json.dumps({"signal": signal.name, "protobuf": base64.b64encode(body).decode("ascii")})
    return as_otlp_json(message)


def as_otlp_json(message: Message) -> str:
    """One line of OTLP/JSON with hex ids (protobuf's JSON mapping writes bytes as base64)."""
    document = json_format.MessageToDict(message)
    _hex_ids(document)
    return json.dumps(document, separators=(",", ":"))


def keep(settings: Settings, org_id: str, signal: Signal, line: str) -> Path:
    """Write the request atomically as a new inbox file of the org (the watcher or the next run ingests it)."""
    folder = inbox.org_folder(settings, org_id) / signal.folder
    return inbox.write_atomically(folder, f"{inbox.stamp()}-{signal.name}-{uuid.uuid4().hex[:8]}.jsonl", line + "\n")


def _decompressed(body: bytes, content_encoding: str) -> bytes:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        data = body
    elif encoding in ("gzip", "deflate"):
        try:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
            data = inflater.decompress(body, MAX_BODY_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile) as error:
            raise PayloadError(f"the body is not valid {encoding}: {error}") from None
    else:
        raise PayloadError(f"content encoding {content_encoding!r} is not supported (send gzip or none)")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadError(f"at most {MAX_BODY_BYTES:,} bytes per request (uncompressed)")
    return data


def _hex_ids(node) -> None:
    """Protobuf JSON writes bytes as base64; OTLP/JSON writes trace and span ids as hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
