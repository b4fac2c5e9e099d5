"""OpenTelemetry: GenAI spans and Claude Code log events through the proto types, with exact totals."""

from __future__ import annotations

import json

import duckdb
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from aioa.ingest.otel import OtelSource
from aioa.ingest.runner import ingest

START = 1_777_630_000_000_000_000  # 2026-05-01 10:06:40 UTC in nanoseconds


def attributes(**values) -> list[KeyValue]:
    result = []
    for key, value in values.items():
        key = key.replace("__", ".")
        any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=str(value))
        result.append(KeyValue(key=key, value=any_value))
    return result


def span_request(spans: list[dict]) -> str:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(attributes(user__id="olga", host__name="ci-1"))
    scope = resource_spans.scope_spans.add()
    for index, spec in enumerate(spans, 1):
        span = scope.spans.add()
        span.trace_id = bytes.fromhex(f"{index:032x}")
        span.span_id = bytes.fromhex(f"{index:016x}")
        span.name = "chat"
        span.start_time_unix_nano = START
        span.end_time_unix_nano = START + spec.pop("ms", 1000) * 1_000_000
        if spec.pop("error", False):
            span.status.code = 2
            span.status.message = "rate limited"
        span.attributes.extend(attributes(**spec))
    return json.dumps(MessageToDict(request))


def log_request() -> str:
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    api = scope.log_records.add()
    api.time_unix_nano = START
    api.body.string_value = "claude_code.api_request"
    api.attributes.extend(
        attributes(
            model="claude-sonnet-4-5-20250929",
            input_tokens="12",
            output_tokens="300",
            cache_read_tokens="4000",
            cache_creation_tokens="1000",
            duration_ms="2500",
            session__id="cc-1",
            user__email="olga@initech.example",
        )
    )
    tool = scope.log_records.add()
    tool.time_unix_nano = START
    tool.body.string_value = "claude_code.tool_result"
    tool.attributes.extend(attributes(tool_name="mcp__github__create_issue", success="false", duration_ms="90"))
    return json.dumps(MessageToDict(request))


def query(settings, sql):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_spans_and_log_events_load_with_exact_tokens(settings, tmp_path):
    folder = tmp_path / "otel"
    folder.mkdir()
    (folder / "traces.jsonl").write_text(
        "\n".join(
            [
                span_request(
                    [
                        {
                            "gen_ai__provider__name": "openai",
                            "gen_ai__request__model": "gpt-4o",
                            "gen_ai__usage__input_tokens": 1000,
                            "gen_ai__usage__output_tokens": 50,
                            "gen_ai__usage__cache_read__input_tokens": 400,
                            "ms": 1200,
                        },
                        {
                            "gen_ai__system": "deepseek",
                            "gen_ai__request__model": "deepseek-chat",
                            "gen_ai__usage__input_tokens": 10,
                            "gen_ai__usage__output_tokens": 5,
                            "error": True,
                        },
                        {
                            "gen_ai__provider__name": "acme",
                            "gen_ai__request__model": "acme-internal-llm-2",
                            "gen_ai__usage__input_tokens": 7,
                            "gen_ai__usage__output_tokens": 3,
                        },
                        {"http__route": "/health"},  # not a GenAI span: ignored
                    ]
                ),
                "{broken",
                json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x", "bogusField": 1}]}]}]}),
            ]
        )
        + "\n"
    )
    (folder / "logs.jsonl").write_text(log_request() + "\n")
    summary = ingest(OtelSource(), [folder], settings)
    assert summary.rows_added == {"llm_calls": 4, "tool_calls": 1}
    assert (summary.quarantined, summary.unpriced) == (1, 1)
    calls = query(
        settings,
        "select model, input_tokens, cache_read_tokens, cache_write_5m_tokens, output_tokens, "
        "latency_ms, status, price_status, user_id from raw.llm_calls order by model",
    )
    assert calls == [
        ("acme-internal-llm-2", 7, 0, 0, 3, 1000, "ok", "unpriced", "olga"),
        ("claude-sonnet-4-5-20250929", 12, 4000, 1000, 300, 2500, "ok", "priced", "olga@initech.example"),
        ("deepseek-chat", 10, 0, 0, 5, 1000, "error", "priced", "olga"),
        ("gpt-4o", 600, 400, 0, 50, 1200, "ok", "priced", "olga"),  # inclusive input minus cached
    ]
    assert query(settings, "select tool_name, mcp_server, success, duration_ms from raw.tool_calls") == [
        ("mcp__github__create_issue", "github", False, 90)
    ]
    reasons = dict(query(settings, "select source_line, reason from raw.quarantine where severity = 'rejected'"))
    assert reasons[2].startswith("malformed JSON")
    flagged = [
        reason
        for _, reason in query(
            settings, "select source_line, reason from raw.quarantine where severity = 'flagged' order by 1"
        )
    ]
    assert any(reason.startswith("unknown fields ignored") for reason in flagged)
    assert any(reason.startswith("unknown model") for reason in flagged)
    again = ingest(OtelSource(), [folder], settings)
    assert (again.files_read, again.rows_added) == (0, {})


GPT_SPAN = {"gen_ai__request__model": "gpt-4o", "gen_ai__usage__input_tokens": 10, "gen_ai__usage__output_tokens": 5}


def test_a_pretty_printed_request_is_one_record_and_a_line_cut_to_a_brace_is_only_itself(settings, tmp_path):
    folder = tmp_path / "otel"
    folder.mkdir()
    request = json.loads(span_request([dict(GPT_SPAN) for _ in range(3)]))
    del request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]  # spans 2 and 3; span 1 is the other file's
    (folder / "pretty.json").write_text(json.dumps(request, indent=2) + "\n")  # as an exporter's file dump writes it
    # JSON Lines whose first line was cut to "{": the next line is a request of its own, not part of a document
    (folder / "cut.jsonl").write_text("{\n" + span_request([dict(GPT_SPAN)]) + "\n")
    summary = ingest(OtelSource(), [folder], settings)
    assert summary.rows_added["llm_calls"] == 3 and summary.quarantined == 1
    loaded = query(settings, "select source_file, source_line from raw.llm_calls order by 1, 2")
    assert [(file.rsplit("/", 1)[-1], line) for file, line in loaded] == [
        ("cut.jsonl", 2),
        ("pretty.json", 1),
        ("pretty.json", 1),
    ]
    (rejected,) = query(settings, "select source_file, source_line, reason from raw.quarantine")
    assert rejected[0].endswith("cut.jsonl") and rejected[1] == 1 and rejected[2].startswith("malformed JSON")
