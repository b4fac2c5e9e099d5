"""The OTLP/HTTP receiver, fed by the OpenTelemetry SDK's own exporters over a real socket: GenAI spans (protobuf
and OTLP/JSON) and Claude Code's `api_request` log events land in the key's org with exact tokens; the same span
sent both ways is one row; a malformed body gets 400 and is quarantined; no key gets 401; metrics are kept."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aioa.ingest.registry import BY_NAME
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from aioa.warehouse.snapshots import open_snapshot
from tests.servers import free_port

ORG = "acme"


@pytest.fixture(scope="module")
def receiver(tmp_path_factory) -> Iterator[tuple[Settings, str, str]]:
    """The API (auth on) on a free loopback port, and an ingest-scoped API key of org acme."""
    from apps.api.main import create_app

    from aioa.identity import api_keys

    home = tmp_path_factory.mktemp("otlp") / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIOA_HOME", str(home))
        patch.setenv("AIOA_AUTH", "on")
        patch.delenv("AIOA_DATABASE_URL", raising=False)
        patch.delenv("AIOA_REDIS_URL", raising=False)
        settings = Settings(home=home)
        _info, key = api_keys.create_key(settings, org_id=ORG, scopes=["ingest"], name="otel")
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield settings, f"http://127.0.0.1:{port}", key
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def genai_spans(count: int, first_input: int) -> list:
    """Finished GenAI chat spans from a real tracer (in memory, then handed to the exporters under test)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "agent", "user.id": "otel-user"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    for index in range(count):
        with tracer.start_as_current_span("chat claude-sonnet-4-5") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.response.id": f"msg_otlp_{first_input + index}",
                    "gen_ai.usage.input_tokens": first_input + index,  # inclusive of cached tokens (GenAI rules)
                    "gen_ai.usage.output_tokens": 10 + index,
                    "gen_ai.usage.cache_read.input_tokens": 0,
                }
            )
    provider.shutdown()
    return list(memory.get_finished_spans())


def ingest_inbox(settings: Settings) -> list[tuple]:
    entry = BY_NAME["otel"]
    ingest(entry.source(), entry.configured_paths(settings), settings)
    connection, _ = open_snapshot(settings)
    with connection:
        return connection.execute(
            "select org_id, message_id, input_tokens, output_tokens from raw.llm_calls order by message_id"
        ).fetchall()


def test_sdk_exporters_deliver_spans_and_claude_code_log_events_with_exact_tokens(receiver):
    settings, base, key = receiver
    headers = {"authorization": f"Bearer {key}"}
    protobuf = OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers)
    spans = genai_spans(3, first_input=1000)
    assert protobuf.export(spans) == SpanExportResult.SUCCESS
    # OTLP/JSON of the same encoder (the Python SDK ships no JSON exporter): ids as hex, as the spec writes them
    as_json = _hex(json_format.MessageToDict(encode_spans(genai_spans(2, first_input=2000))))
    answer = httpx.post(f"{base}/v1/traces", json=as_json, headers=headers)
    assert answer.status_code == 200, answer.text
    # the first JSON span again, now as protobuf: the same trace and span ids are the same row
    again = json_format.MessageToDict(encode_spans(spans[:1]))
    assert httpx.post(f"{base}/v1/traces", json=_hex(again), headers=headers).status_code == 200

    logs = LoggerProvider(resource=Resource.create({"service.name": "claude-code"}))
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs", headers=headers))
    )
    logs.get_logger("com.anthropic.claude_code.events").emit(
        timestamp=time.time_ns(),
        body="claude_code.api_request",
        attributes={
            "event.name": "api_request",
            "model": "claude-opus-4-1",
            "request_id": "req_cc_otel_1",
            "session.id": "cc-session-1",
            "input_tokens": "321",
            "output_tokens": "45",
            "cache_read_tokens": "6000",
            "cache_creation_tokens": "700",
            "duration_ms": "2100",
        },
    )
    logs.shutdown()

    rows = ingest_inbox(settings)
    spans_in = [(ORG, f"msg_otlp_{n}", n, 10 + i) for i, n in enumerate((1000, 1001, 1002))]
    spans_in += [(ORG, f"msg_otlp_{n}", n, 10 + i) for i, n in enumerate((2000, 2001))]
    assert rows == sorted([*spans_in, (ORG, "req_cc_otel_1", 321, 45)], key=lambda row: row[1])


def _hex(document: dict) -> dict:
    """OTLP/JSON writes trace and span ids as hex (protobuf's JSON mapping writes bytes as base64)."""
    for resource in document["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for field in ("traceId", "spanId"):
                    span[field] = base64.b64decode(span[field]).hex()
    return document


def test_bad_payloads_are_refused_and_quarantined_and_a_missing_key_is_401(receiver):
    settings, base, key = receiver
    headers = {"authorization": f"Bearer {key}"}
    assert httpx.post(f"{base}/v1/traces", content=b"\x00\x01", headers=headers).status_code == 400  # no type
    broken = httpx.post(
        f"{base}/v1/traces",
        content=b"\xff\xfe not protobuf",
        headers=headers | {"content-type": "application/x-protobuf"},
    )
    assert broken.status_code == 400 and "quarantined" in broken.json()
    not_json = httpx.post(f"{base}/v1/logs", content=b"{oops", headers=headers | {"content-type": "application/json"})
    assert not_json.status_code == 400 and "malformed JSON" in not_json.json()["detail"]
    kept = sorted(path.name for path in (settings.home / "inbox" / ORG / "quarantine").iterdir())
    assert any("otlp-traces" in name for name in kept) and any("otlp-logs" in name for name in kept)
    assert httpx.post(f"{base}/v1/traces", json={"resourceSpans": []}).status_code == 401


def test_metrics_are_kept_for_replay_but_not_read_as_calls(receiver):
    settings, base, key = receiver
    body = {
        "resourceMetrics": [
            {
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "claude_code.token.usage",
                                "sum": {"dataPoints": [{"asInt": "1234", "timeUnixNano": str(time.time_ns())}]},
                            }
                        ]
                    }
                ]
            }
        ]
    }
    answer = httpx.post(f"{base}/v1/metrics", json=body, headers={"authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    kept = list(Path(settings.home / "inbox" / ORG / "otel_metrics").glob("*.jsonl"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["resourceMetrics"][0]["scopeMetrics"]


def test_a_log_event_with_trace_ids_sent_as_protobuf_and_as_json_is_one_row(receiver):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    settings, base, key = receiver
    headers = {"authorization": f"Bearer {key}"}
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano = time.time_ns()
    record.trace_id, record.span_id = bytes(range(16)), bytes(range(8))
    event = {"event.name": "api_request", "model": "claude-opus-4-1", "request_id": "req_both_ways"}
    for name, value in (event | {"input_tokens": "55", "output_tokens": "5"}).items():
        attribute = record.attributes.add()
        attribute.key, attribute.value.string_value = name, value
    sent = httpx.post(
        f"{base}/v1/logs",
        content=request.SerializeToString(),
        headers=headers | {"content-type": "application/x-protobuf"},
    )
    assert sent.status_code == 200
    as_json = json_format.MessageToDict(request)
    json_record = as_json["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    json_record["traceId"], json_record["spanId"] = bytes(range(16)).hex(), bytes(range(8)).hex()
    assert httpx.post(f"{base}/v1/logs", json=as_json, headers=headers).status_code == 200
    kept = [json.loads(path.read_text()) for path in (settings.home / "inbox" / ORG / "otel").glob("*-logs-*.jsonl")]
    assert any(line.get("signal") == "logs" and "protobuf" in line for line in kept)  # protobuf kept as sent
    rows = [row for row in ingest_inbox(settings) if row[1] == "req_both_ways"]
    assert rows == [(ORG, "req_both_ways", 55, 5)]
