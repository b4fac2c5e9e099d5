"""The API's /metrics (parsed with Prometheus' own text parser; its counters move with traffic), a request's trace in
an in-memory exporter, ingest batches traced, and JSON logs with request ids and without secrets."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from aioa.ops import tracing
from aioa.settings import Settings
from tests.api.conftest import copy_home, serving
from tests.ingest.transcripts import assistant, write_jsonl

REPORT = "/v1/reports/{kind}"


def samples(client: TestClient) -> dict[tuple, float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            values[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return values


def latency_count(values, route: str, status: int, method: str = "GET") -> float:
    key = ("aioa_http_request_duration_seconds_count", ("method", method), ("route", route), ("status", str(status)))
    return values.get(key, 0.0)


@pytest.fixture(scope="module")
def traced_api(built_home: Path, tmp_path_factory):
    """The API over a copy of the built home, with an in-memory span exporter installed before the app is built."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        with serving(copy_home(built_home, tmp_path_factory.mktemp("obs") / "home")) as served:
            yield served, exporter
    finally:
        tracing.use_provider(None)


def test_metrics_parse_and_move_with_traffic(traced_api):
    api, _ = traced_api
    client, admin = api.client, api.headers["admin"]
    before = samples(client)
    for _ in range(3):
        assert client.get("/v1/reports/daily", headers=admin).status_code == 200
    assert client.get("/v1/reports/monthly").status_code == 401  # no credentials
    assert client.get("/v1/reports/monthly", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/no/such/path/42").status_code == 404
    after = samples(client)

    assert latency_count(after, REPORT, 200) - latency_count(before, REPORT, 200) == 3
    assert latency_count(after, REPORT, 401) - latency_count(before, REPORT, 401) == 2
    auth = ("aioa_auth_failures_total", ("route", REPORT), ("status", "401"))
    assert after[auth] - before.get(auth, 0.0) == 2
    assert latency_count(after, "(unmatched)", 404) - latency_count(before, "(unmatched)", 404) == 1
    assert not any("/no/such/path" in str(key) for key in after)  # raw paths never become labels
    bucket = ("aioa_http_request_duration_seconds_bucket", ("le", "+Inf"), ("method", "GET"), ("route", REPORT))
    assert after[(*bucket, ("status", "200"))] == latency_count(after, REPORT, 200)
    total = ("aioa_http_request_duration_seconds_sum", ("method", "GET"), ("route", REPORT), ("status", "200"))
    assert after[total] > before.get(total, 0.0)
    assert after[("aioa_http_requests_in_flight",)] == 0


def test_request_ids_are_echoed_or_assigned(traced_api):
    api, _ = traced_api
    given = api.client.get("/healthz", headers={"X-Request-ID": "req-abc.123"})
    assert given.headers["x-request-id"] == "req-abc.123"
    forged = api.client.get("/healthz", headers={"X-Request-ID": "evil\tid with spaces"})
    assigned = forged.headers["x-request-id"]
    assert assigned != "evil\tid with spaces" and len(assigned) == 16 and int(assigned, 16) >= 0


def test_a_request_and_an_ask_reach_the_in_memory_exporter(traced_api):
    api, exporter = traced_api
    exporter.clear()
    answer = api.client.get("/v1/reports/daily", headers={**api.headers["admin"], "X-Request-ID": "trace-me"})
    assert answer.status_code == 200
    spans = exporter.get_finished_spans()
    server = [span for span in spans if span.kind.name == "SERVER"]
    assert [span.name for span in server] == [f"GET {REPORT}"]
    assert server[0].attributes["http.route"] == REPORT
    assert server[0].attributes.get("http.status_code", server[0].attributes.get("http.response.status_code")) == 200
    assert {span.context.trace_id for span in spans} == {server[0].context.trace_id}  # one trace

    exporter.clear()
    question = "top 5 projects by spend last 30 days"
    assert api.client.post("/v1/ask", json={"question": question}, headers=api.headers["admin"]).status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert "aioa.ask" in spans and "POST /v1/ask" in spans
    assert spans["aioa.ask"].parent.span_id == spans["POST /v1/ask"].context.span_id
    assert spans["aioa.ask"].attributes["question_chars"] == len(question)
    assert not any(question in str(value) for span in spans.values() for value in span.attributes.values())

    exporter.clear()
    api.client.get("/metrics")
    api.client.get("/healthz")
    assert exporter.get_finished_spans() == ()  # probes and scrapes are not traced


def test_server_errors_are_counted_per_route(tmp_path):
    from apps.api.observability import install_observability

    app = FastAPI()

    @app.get("/boom/{what}")
    def boom(what: str):
        raise RuntimeError("no")

    install_observability(app, Settings(home=tmp_path))
    with TestClient(app, raise_server_exceptions=False) as client:
        before = samples(client)
        assert client.get("/boom/1").status_code == 500
        assert client.get("/boom/2").status_code == 500
        after = samples(client)
    key = ("aioa_http_server_errors_total", ("method", "GET"), ("route", "/boom/{what}"))
    assert after[key] - before.get(key, 0.0) == 2


def test_ingest_batches_are_traced(tmp_path):
    from aioa.ingest.claude_code import ClaudeCodeSource
    from aioa.ingest.runner import ingest

    logs = tmp_path / ".claude"
    write_jsonl(logs / "projects" / "p" / "s.jsonl", [assistant(f"m{i}", f"r{i}", output=i) for i in range(1, 6)])
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        summary = ingest(ClaudeCodeSource(), [logs], Settings(home=tmp_path / "home"), publish=False)
    finally:
        tracing.use_provider(None)
    batches = [span for span in exporter.get_finished_spans() if span.name == "aioa.ingest.batch"]
    assert [dict(span.attributes) for span in batches] == [{"source": "claude_code", "files": 1, "rows_added": 5}]
    assert sum(summary.rows_added.values()) >= 5


def test_json_logs_carry_request_ids_and_no_secrets(tmp_path):
    import structlog

    from aioa.ops import logs

    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure_logging(Settings(home=tmp_path, log_format="json"), stream=stream)
        token = logs.REQUEST_ID.set("req-1")
        with logs.bound_run_id("run-9"):
            logging.getLogger("aioa.test").warning(
                "signed in with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl key aioa_abcdefghijklmnop "
                "dsn postgresql://bob:hunter2@db/aioa",
                extra={"password": "hunter2", "question": "what did acme spend", "rows": 3},
            )
        logs.REQUEST_ID.reset(token)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()
        logs._configured_format = None
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["request_id"] == "req-1" and line["run_id"] == "run-9" and line["level"] == "warning"
    assert line["logger"] == "aioa.test" and line["rows"] == 3
    assert line["password"] == "[redacted]" and line["question"] == "[redacted]"
    text = stream.getvalue()
    for secret in ("hunter2", "eyJhbGciOiJIUzI1NiJ9", "abcdefghijklmnop", "what did acme spend"):
        assert secret not in text


def test_configured_endpoint_exports_spans_over_otlp_http(tmp_path):
    """AIOA_OTEL_EXPORTER_ENDPOINT set: spans reach a real OTLP/HTTP receiver on loopback as protobuf."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    try:
        provider = tracing.configure(Settings(home=tmp_path, otel_exporter_endpoint=endpoint), service="aioa-test")
        with tracing.span("aioa.test.unit", rows=3):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        tracing.use_provider(None)
        server.shutdown()
    assert [path for path, _ in received] == ["/v1/traces"]
    request = ExportTraceServiceRequest.FromString(received[0][1])
    resource_spans = request.resource_spans[0]
    service = {item.key: item.value.string_value for item in resource_spans.resource.attributes}["service.name"]
    spans = [span for scope in resource_spans.scope_spans for span in scope.spans]
    assert service == "aioa-test" and [span.name for span in spans] == ["aioa.test.unit"]
    assert {item.key: item.value.int_value for item in spans[0].attributes} == {"rows": 3}


def test_a_pipeline_run_binds_its_run_id_for_log_lines():
    from aioa.ops.logs import RUN_ID, with_run_id
    from aioa.pipeline import PipelineReport, _materialise

    seen = []

    @with_run_id
    def run(settings, sources, report, **options):
        seen.append(RUN_ID.get())
        return report.run_id

    report = PipelineReport()
    assert run(None, None, report, full_refresh=False) == report.run_id == seen[0]
    assert len(report.run_id) == 36 and RUN_ID.get() is None  # unbound after the run
    assert _materialise.__wrapped__.__wrapped__.__name__ == "_materialise"  # with_run_id, then traced
