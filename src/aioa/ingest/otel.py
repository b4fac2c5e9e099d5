"""OpenTelemetry: OTLP/JSON trace files (GenAI spans) and Claude Code's OTel log events, parsed with the proto types.

The receiver's inbox lines are OTLP/JSON or, for protobuf requests, the request as sent in a JSON envelope."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from aioa.ingest.lines import json_depth, max_json_depth
from aioa.ingest.sources import DiscoveredFile, Source, find_files
from aioa.warehouse.sql import execute_script

PROTOBUF_SIGNALS = {"traces": ExportTraceServiceRequest, "logs": ExportLogsServiceRequest}
ERROR_STATUS = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR

CALL_COLUMNS = (
    "file_idx",
    "line_no",
    "call_key",
    "provider",
    "model",
    "message_id",
    "session_id",
    "ts_nanos",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "inclusive_input",
    "status",
    "error",
    "hint_user",
    "hint_org",
    "hint_project",
    "hint_host",
)
TOOL_COLUMNS = (
    "file_idx",
    "line_no",
    "tool_call_key",
    "tool_name",
    "session_id",
    "ts_nanos",
    "success",
    "duration_ms",
    "hint_user",
    "hint_org",
    "hint_project",
    "hint_host",
)


def _value(any_value):
    kind = any_value.WhichOneof("value")
    return None if kind is None else getattr(any_value, kind)


def _attributes(key_values) -> dict:
    return {item.key: _value(item.value) for item in key_values}


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _id_from_json(raw: bytes) -> str:
    # OTLP/JSON writes ids as hex; the generic proto JSON parser reads them as base64: re-encoding restores the text.
    return base64.b64encode(raw).decode()


def _id_from_protobuf(raw: bytes) -> str:
    return raw.hex()  # the same text as the OTLP/JSON of the same span


def _hints(attributes: dict) -> dict:
    return {
        "hint_user": attributes.get("user.id") or attributes.get("enduser.id") or attributes.get("user.email"),
        "hint_org": attributes.get("organization.id"),
        "hint_project": attributes.get("project.id"),
        "hint_host": attributes.get("host.name"),
    }


class OtelSource(Source):
    name = "otel"
    tables = ("llm_calls", "tool_calls")

    def discover(self, paths: list[Path]) -> list[DiscoveredFile]:
        return find_files(paths, ("**/*.jsonl", "**/*.json"))

    def stage(self, connection: duckdb.DuckDBPyConnection) -> None:
        calls = {name: [] for name in CALL_COLUMNS}
        tools = {name: [] for name in TOOL_COLUMNS}
        problems: list[tuple] = []
        max_depth = max_json_depth(connection)
        for file_idx, line_no, text, (request, problem, id_text) in _records(connection, max_depth):
            if problem:
                problems.append((file_idx, line_no, "rejected" if request is None else "flagged", problem, text[:500]))
            if request is None:
                continue
            if isinstance(request, ExportTraceServiceRequest):
                _spans(request, file_idx, line_no, calls, tools, id_text)
            else:
                _log_events(request, file_idx, line_no, calls, tools, id_text)
        connection.register("otel_calls", pa.table(calls, schema=_schema(CALL_COLUMNS)))
        connection.register("otel_tools", pa.table(tools, schema=_schema(TOOL_COLUMNS)))
        connection.register(
            "otel_problems",
            pa.table(
                {
                    name: [row[index] for row in problems]
                    for index, name in enumerate(("file_idx", "line_no", "severity", "reason", "raw_excerpt"))
                },
                schema=pa.schema(
                    [
                        ("file_idx", pa.int32()),
                        ("line_no", pa.int64()),
                        ("severity", pa.string()),
                        ("reason", pa.string()),
                        ("raw_excerpt", pa.string()),
                    ]
                ),
            ),
        )
        execute_script(connection, _STAGE_SQL)
        for view in ("otel_calls", "otel_tools", "otel_problems"):
            connection.unregister(view)


def _records(connection, max_depth: int):
    """(file_idx, line_no, text, parse_line's result): one export request per line, or a whole pretty-printed file
    as one record. A file that looks pretty-printed (a lone "{", then a key) is one record when it reads as one or
    when none of its lines is a JSON object by itself; otherwise it is JSON Lines whose first lines were cut, and
    each line counts on its own."""
    rows = connection.execute("select file_idx, line_no, text from batch_lines order by file_idx, line_no").fetchall()
    by_file: dict[int, list] = {}
    for row in rows:
        by_file.setdefault(row[0], []).append(row)
    for file_idx, lines in by_file.items():
        if len(lines) > 1 and lines[0][2].strip() == "{" and lines[1][2].lstrip().startswith('"'):
            whole = "".join(line[2] for line in lines)
            parsed = parse_line(whole, max_depth)
            if parsed[0] is not None or not any(_is_json_object(text) for _, _, text in lines[1:]):
                yield file_idx, lines[0][1], whole, parsed
                continue
        for _, line_no, text in lines:
            if text.strip():
                yield file_idx, line_no, text, parse_line(text, max_depth)


def _is_json_object(text: str) -> bool:
    if not text.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False


def parse_line(text: str, max_depth: int):
    """(request or None, problem or None, how its ids become text): an OTLP/JSON line or a kept protobuf request."""
    # Lines were measured by the line reader; a pretty-printed file joined into one record is measured here.
    if text.count("[") + text.count("{") > max_depth and json_depth(text.encode())[0] > max_depth:
        return None, f"JSON nested deeper than {max_depth} levels", None
    try:
        payload = json.loads(text)
    except ValueError as error:
        return None, f"malformed JSON: {error.msg}", None
    except RecursionError:
        return None, f"JSON nested deeper than Python's parser allows (limit {max_depth} levels)", None
    if isinstance(payload, dict) and payload.get("signal") in PROTOBUF_SIGNALS and "protobuf" in payload:
        return _protobuf(payload)
    if not isinstance(payload, dict) or not ({"resourceSpans", "resourceLogs"} & payload.keys()):
        return None, "not an OTLP export request (no resourceSpans or resourceLogs)", None
    message_type = ExportTraceServiceRequest if "resourceSpans" in payload else ExportLogsServiceRequest
    try:
        return json_format.ParseDict(payload, message_type()), None, _id_from_json
    except RecursionError:
        return None, "invalid OTLP: nested too deep", None
    except json_format.ParseError as strict_error:
        try:
            return (
                json_format.ParseDict(payload, message_type(), ignore_unknown_fields=True),
                f"unknown fields ignored: {str(strict_error)[:200]}",
                _id_from_json,
            )
        except json_format.ParseError as error:
            return None, f"invalid OTLP: {str(error)[:200]}", None


def _protobuf(payload: dict):
    """A protobuf request the receiver kept as sent (`apps/api/otlp.py`: `{"signal": …, "protobuf": base64}`)."""
    message = PROTOBUF_SIGNALS[payload["signal"]]()
    try:
        message.ParseFromString(base64.b64decode(payload["protobuf"], validate=True))
    except (ValueError, TypeError, DecodeError, RecursionError) as error:
        return None, f"invalid OTLP protobuf: {str(error)[:200]}", None
    return message, None, _id_from_protobuf


def _spans(request, file_idx, line_no, calls, tools, id_text) -> None:
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = {**resource, **_attributes(span.attributes)}
                key = f"otel:{id_text(span.trace_id)}:{id_text(span.span_id)}"
                session = attributes.get("session.id") or attributes.get("gen_ai.conversation.id")
                if attributes.get("gen_ai.operation.name") == "execute_tool":
                    _append(
                        tools,
                        file_idx=file_idx,
                        line_no=line_no,
                        tool_call_key=key,
                        tool_name=attributes.get("gen_ai.tool.name") or span.name,
                        session_id=session,
                        ts_nanos=span.start_time_unix_nano,
                        success=span.status.code != ERROR_STATUS,
                        duration_ms=(span.end_time_unix_nano - span.start_time_unix_nano) // 1_000_000,
                        **_hints(attributes),
                    )
                    continue
                model = attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model")
                if not model:
                    continue  # not a GenAI span
                _append(
                    calls,
                    file_idx=file_idx,
                    line_no=line_no,
                    call_key=key,
                    provider=attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system"),
                    model=model,
                    message_id=attributes.get("gen_ai.response.id"),
                    session_id=session,
                    ts_nanos=span.start_time_unix_nano,
                    latency_ms=(span.end_time_unix_nano - span.start_time_unix_nano) // 1_000_000,
                    input_tokens=_int(attributes.get("gen_ai.usage.input_tokens")),
                    output_tokens=_int(attributes.get("gen_ai.usage.output_tokens")),
                    cache_read_tokens=_int(attributes.get("gen_ai.usage.cache_read.input_tokens")) or 0,
                    cache_write_tokens=_int(attributes.get("gen_ai.usage.cache_creation.input_tokens")) or 0,
                    # GenAI semantic conventions: input_tokens includes cached tokens (inclusive)
                    inclusive_input=True,
                    status="error" if span.status.code == ERROR_STATUS else "ok",
                    error=span.status.message or None if span.status.code == ERROR_STATUS else None,
                    **_hints(attributes),
                )


def _log_events(request, file_idx, line_no, calls, tools, id_text) -> None:
    for resource_logs in request.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attributes = {**resource, **_attributes(record.attributes)}
                event = str(attributes.get("event.name") or _value(record.body) or "")
                key = _log_key(record, id_text)
                ts_nanos = record.time_unix_nano or record.observed_time_unix_nano
                if event.endswith("api_request"):
                    # Claude Code reports Anthropic's additive counts: input_tokens excludes cache tokens.
                    _append(
                        calls,
                        file_idx=file_idx,
                        line_no=line_no,
                        call_key=key,
                        provider="anthropic",
                        model=attributes.get("model"),
                        message_id=attributes.get("request_id"),
                        session_id=attributes.get("session.id"),
                        ts_nanos=ts_nanos,
                        latency_ms=_int(attributes.get("duration_ms")),
                        input_tokens=_int(attributes.get("input_tokens")),
                        output_tokens=_int(attributes.get("output_tokens")),
                        cache_read_tokens=_int(attributes.get("cache_read_tokens")) or 0,
                        cache_write_tokens=_int(attributes.get("cache_creation_tokens")) or 0,
                        inclusive_input=False,
                        status="ok",
                        error=None,
                        **_hints(attributes),
                    )
                elif event.endswith("tool_result"):
                    _append(
                        tools,
                        file_idx=file_idx,
                        line_no=line_no,
                        tool_call_key=key,
                        tool_name=attributes.get("tool_name") or "unknown",
                        session_id=attributes.get("session.id"),
                        ts_nanos=ts_nanos,
                        success=str(attributes.get("success")).lower() == "true",
                        duration_ms=_int(attributes.get("duration_ms")),
                        **_hints(attributes),
                    )


def _log_key(record, id_text) -> str:
    """A hash of the record as the OTLP/JSON reader holds it, so a record sent as protobuf and as JSON is one row."""
    if id_text is _id_from_protobuf and (record.trace_id or record.span_id):
        as_from_json = type(record)()
        as_from_json.CopyFrom(record)
        for field in ("trace_id", "span_id"):
            raw = getattr(record, field)
            if raw:  # the JSON reader reads the hex text as base64 (see _id_from_json)
                setattr(as_from_json, field, base64.b64decode(raw.hex()))
        record = as_from_json
    return "otel:log:" + hashlib.sha256(record.SerializeToString(deterministic=True)).hexdigest()[:32]


def _append(columns: dict, **values) -> None:
    for name, column in columns.items():
        column.append(values.get(name))


def _schema(names) -> pa.Schema:
    types = {
        "file_idx": pa.int32(),
        "line_no": pa.int64(),
        "ts_nanos": pa.int64(),
        "latency_ms": pa.int64(),
        "input_tokens": pa.int64(),
        "output_tokens": pa.int64(),
        "cache_read_tokens": pa.int64(),
        "cache_write_tokens": pa.int64(),
        "inclusive_input": pa.bool_(),
        "success": pa.bool_(),
        "duration_ms": pa.int64(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in names])


_STAGE_SQL = """
create or replace temp table stage_llm_calls as
select
    call_key,
    cast(null as varchar) as org_id, cast(null as varchar) as team_id,
    cast(null as varchar) as user_id, cast(null as varchar) as project_id,
    session_id, 'main' as agent_id, false as is_subagent, message_id, cast(null as varchar) as request_id,
    make_timestamp(ts_nanos // 1000) as ts_utc,
    coalesce(provider, 'unknown') as provider, model,
    case when inclusive_input then greatest(input_tokens - cache_read_tokens - cache_write_tokens, 0)
         else input_tokens end as input_tokens,
    output_tokens,
    cache_write_tokens as cache_write_5m_tokens, 0::bigint as cache_write_1h_tokens, cache_read_tokens,
    cast(null as decimal(20, 10)) as cost_usd, 'pending' as price_status,
    cast(null as varchar) as price_source, cast(null as varchar) as price_version,
    latency_ms, status, error,
    cast(null as varchar) as cwd, cast(null as varchar) as git_branch, cast(null as varchar) as client_version,
    'otel' as source_system, files.path as source_file, line_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id, getvariable('contract_version') as contract_version,
    cast(null as varchar) as hint_config_dir, hint_user, hint_org, hint_project, hint_host
from otel_calls join batch_files as files using (file_idx)
where model is not null and input_tokens is not null and output_tokens is not null and ts_nanos > 0;

create or replace temp table stage_tool_calls as
select
    tool_call_key,
    cast(null as varchar) as org_id, cast(null as varchar) as team_id,
    cast(null as varchar) as user_id, cast(null as varchar) as project_id,
    session_id, 'main' as agent_id, cast(null as varchar) as message_id, cast(null as varchar) as tool_use_id,
    make_timestamp(ts_nanos // 1000) as ts_utc, tool_name,
    starts_with(tool_name, 'mcp__') as is_mcp,
    mcp.server as mcp_server, mcp.tool as mcp_tool, mcp.plugin as mcp_plugin,
    cast(null as varchar) as subagent_type, success, duration_ms, cast(null as varchar) as error,
    'otel' as source_system, files.path as source_file, line_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id, getvariable('contract_version') as contract_version,
    cast(null as varchar) as hint_config_dir, hint_user, hint_org, hint_project, hint_host,
    cast(null as varchar) as cwd
from (select *, mcp_names(tool_name) as mcp from otel_tools) as otel_tools join batch_files as files using (file_idx)
where ts_nanos > 0;

create or replace temp table stage_quarantine as
select 'otel' as source_system, files.path as source_file, line_no as source_line, severity, reason, raw_excerpt
from otel_problems join batch_files as files using (file_idx)
union all
select 'otel', files.path, line_no, 'rejected',
       'GenAI call without ' || case when model is null then 'a model'
                                     when input_tokens is null then 'valid input token count'
                                     when output_tokens is null then 'valid output token count'
                                     else 'a timestamp' end || ' (' || call_key || ')',
       null
from otel_calls join batch_files as files using (file_idx)
where model is null or input_tokens is null or output_tokens is null or ts_nanos is null or ts_nanos = 0;
"""
