"""The Health page per role: an Admin sees the components and objectives `aioa doctor --json` computes
(aioa.ops.slo.operations_status) and our own spans, sent as OTLP protobuf to our own receiver with an ingest key; a
User and a Viewer are not offered the page and are refused if they open it."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from streamlit.testing.v1 import AppTest

from aioa.ops.slo import operations_status
from aioa.settings import PROJECT_ROOT, Settings
from tests.api.conftest import PASSWORD, copy_home, serving
from tests.apps.conftest import signed_in

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")
PAGE = "app_pages/health.py"


def own_spans_as_protobuf() -> bytes:
    """Three spans of aioa's API as its tracer provider names them (one failed), encoded as the OTLP exporter does."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "aioa-api", "service.namespace": "aioa"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("aioa")
    for _ in range(2):
        with tracer.start_as_current_span("aioa.ask"):
            pass
    with tracer.start_as_current_span("aioa.pipeline.run") as failed:
        failed.set_status(Status(StatusCode.ERROR))
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


@pytest.fixture(scope="module")
def home(built_home, tmp_path_factory):
    """A copy of the built home with accounts, and our own spans posted to our receiver as the org's ingest key."""
    with serving(copy_home(built_home, tmp_path_factory.mktemp("health") / "home")) as api:
        answer = api.client.post(
            "/v1/traces",
            content=own_spans_as_protobuf(),
            headers={**api.headers["key_ingest"], "Content-Type": "application/x-protobuf"},
        )
        assert answer.status_code == 200, answer.text
        return api.home


@pytest.fixture
def environment(home, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(home))
    monkeypatch.setenv("AIOA_AUTH", "on")
    monkeypatch.delenv("AIOA_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIOA_API_URL", "http://127.0.0.1:9")  # no API answers: its objectives are "unknown"
    return Settings()


def _open(email: str) -> AppTest:
    return signed_in(AppTest.from_file(APP, default_timeout=60), email, PASSWORD)


def test_admin_sees_components_objectives_and_our_own_spans(environment):
    app = _open("admin@acme.test")
    app.switch_page(PAGE).run()
    assert not app.exception, [item.value for item in app.exception]
    assert app.title[0].value == "Health"
    expected = operations_status(environment)
    components = app.dataframe[0].value
    assert list(components["name"]) == [item["name"] for item in expected["components"]]
    assert list(components["status"]) == [item["status"] for item in expected["components"]]
    assert dict(zip(components["name"], components["status"], strict=True))["snapshot"] == "ok"
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Availability (target 99.9%)"] == "unknown"
    freshness = next(slo for slo in expected["slos"] if slo["name"] == "freshness")
    assert metrics[f"Freshness (target {freshness['target_hours']:g} h)"].endswith(" h")
    spans = app.dataframe[1].value.set_index("span")
    assert set(spans["service"]) == {"aioa-api"}
    assert spans.loc["aioa.ask", "spans"] == 2 and spans.loc["aioa.ask", "errors"] == 0
    assert spans.loc["aioa.pipeline.run", "spans"] == 1 and spans.loc["aioa.pipeline.run", "errors"] == 1


@pytest.mark.parametrize("email", ["user@acme.test", "viewer@acme.test"])
def test_users_and_viewers_are_not_offered_health(environment, email):
    app = _open(email)
    assert not app.exception
    with pytest.raises(Exception):  # noqa: B017, PT011 - AppTest refuses a page the navigation does not hold
        app.switch_page(PAGE).run()
    assert all(title.value != "Health" for title in app.title)
