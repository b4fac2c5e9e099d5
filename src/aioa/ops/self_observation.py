"""Self-observation: aioa's own spans that came back through aioa's own OTLP receiver, summarised for the Health page.

Point the services' exporter at the API's receiver (`AIOA_OTEL_EXPORTER_ENDPOINT=http://api:8000/v1/traces` and
`OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <an ingest key>`): their spans land in that key's org inbox like any
other OTLP export. The OTel reader keeps only GenAI spans, so ours are read here, straight from the inbox lines (the
same parser as the reader), recognised by the resource attribute `service.namespace=aioa` that `aioa.ops.tracing`
sets. Only the newest MAX_FILES inbox files are read: this is a recent-activity view, not an archive.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from aioa.ingest.lines import LineLimits
from aioa.ingest.otel import parse_line as parse_inbox_line  # the reader's own parser: JSON lines and kept protobuf
from aioa.settings import Settings

NAMESPACE = "aioa"  # `service.namespace` of every tracer provider aioa.ops.tracing builds
MAX_FILES = 500
ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR
COLUMNS = ["service", "span", "duration_ms", "error", "ended_ns"]


def own_spans(settings: Settings, org_id: str | None) -> pd.DataFrame:
    """Per service and span name: spans, errors, p95 duration (ms) and when the last one ended (UTC), most frequent
    first. `org_id` None (the local operator): every org's inbox."""
    root = settings.home / "inbox"
    folders = [root / org_id / "otel"] if org_id else sorted(root.glob("*/otel"))
    files = sorted((path for folder in folders for path in folder.glob("*.jsonl")), key=_modified)[-MAX_FILES:]
    spans = pd.DataFrame([row for path in files for row in _own_rows(path)], columns=COLUMNS)
    if spans.empty:
        return pd.DataFrame(columns=["service", "span", "spans", "errors", "p95_ms", "last_seen_utc"])
    return (
        duckdb.connect()
        .execute(
            """
            select
                service,
                span,
                count(*) as spans,
                count(*) filter (where error) as errors,
                round(quantile_cont(duration_ms, 0.95), 2) as p95_ms,
                make_timestamp(max(ended_ns) // 1000) as last_seen_utc
            from spans
            group by all
            order by spans desc, service, span
            """
        )
        .df()
    )


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # ingested and moved away meanwhile
        return 0.0


def _own_rows(path: Path):
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    depth = LineLimits().max_json_depth
    for line in lines:
        request, _problem, _ids = parse_inbox_line(line, depth) if line.strip() else (None, None, None)
        for resource in getattr(request, "resource_spans", ()):
            attributes = {item.key: item.value.string_value for item in resource.resource.attributes}
            if attributes.get("service.namespace") != NAMESPACE:
                continue
            service = attributes.get("service.name", "unknown")
            for scope in resource.scope_spans:
                for span in scope.spans:
                    duration_ms = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
                    yield service, span.name, duration_ms, span.status.code == ERROR, span.end_time_unix_nano
