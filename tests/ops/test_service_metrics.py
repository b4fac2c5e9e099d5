"""MCP server status and notification deliveries on the pipeline's metrics registry: they parse with the Prometheus
text parser and move with activity (probes stored, a rule notifying one reachable and one unreachable channel)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aioa.mcp.probe import ProbeResult
from aioa.mcp.servers import McpServer
from aioa.mcp.store import McpStore
from aioa.ops.metrics import pipeline_registry
from aioa.ops.service_metrics import ServiceCollector, channel_scheme
from aioa.rules.engine import evaluate_all
from aioa.rules.store import save_rule
from aioa.settings import Settings
from tests.rules.sample_snapshot import anomaly, write_snapshot
from tests.webhooks.receiver import Receiver

RULE = """\
name: runaway
trigger:
  kind: anomaly_detected
  anomaly_kinds: [runaway_agent]
  since_days: 30
condition: "ratio >= 3.0"
actions:
  - type: notify
    channels: ["{reachable}", "json://127.0.0.1:9/never"]
"""


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIOA_DATABASE_URL", f"sqlite:///{tmp_path / 'identity.db'}")
    monkeypatch.delenv("AIOA_MCP_STATUS_URL", raising=False)
    return Settings()


def samples(settings: Settings, registry: CollectorRegistry | None = None) -> dict[tuple[str, tuple], float]:
    if registry is None:  # these collectors alone: the rule tests' tiny snapshot has no ingest tables
        registry = CollectorRegistry()
        registry.register(ServiceCollector(settings))
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(("aioa_mcp", "aioa_notifications", "aioa_webhook"))
    }


def server(name: str) -> McpServer:
    return McpServer(name=name, scope="user", transport="stdio", configured_in="~/.claude.json")


def test_mcp_status_moves_with_probes(settings):
    assert samples(settings) == {}  # nothing probed, no store: no series (and no file created by the scrape)
    assert not (settings.home / "mcp.db").exists()
    store = McpStore(settings)
    try:
        store.record_probe("acme", ProbeResult(server("files"), "up", latency_ms=12.5))
        store.record_probe("acme", ProbeResult(server("search"), "down", reason="timed out"))
        first = samples(settings)
        store.record_probe("acme", ProbeResult(server("files"), "down", reason="exited", probed_at=datetime.now(UTC)))
        store.record_probe("acme", ProbeResult(server("search"), "up", latency_ms=40.0))
    finally:
        store.close()
    files = (("org", "acme"), ("scope", "user"), ("server", "files"))
    search = (("org", "acme"), ("scope", "user"), ("server", "search"))
    assert first[("aioa_mcp_server_up", files)] == 1.0
    assert first[("aioa_mcp_server_latency_seconds", files)] == pytest.approx(0.0125)
    assert first[("aioa_mcp_server_up", search)] == 0.0
    assert ("aioa_mcp_server_latency_seconds", search) not in first
    later = samples(settings)
    assert later[("aioa_mcp_server_up", files)] == 0.0
    assert later[("aioa_mcp_server_up", search)] == 1.0
    assert later[("aioa_mcp_server_latency_seconds", search)] == pytest.approx(0.04)
    counts = (("org", "acme"), ("server", "files"), ("status", "down"))
    assert later[("aioa_mcp_probes_total", counts)] == 1.0
    assert samples(settings, pipeline_registry(settings)) == later  # served on the pipeline's metrics port


def test_notifications_count_sent_and_failed_per_channel_scheme(settings):
    write_snapshot(settings, [anomaly("acme", index) for index in range(3)])
    with Receiver() as receiver:
        save_rule(settings, "acme", yaml.safe_load(RULE.format(reachable=receiver.url.replace("http", "json", 1))))
        before = samples(settings)
        evaluate_all(settings, "acme")
    after = samples(settings)
    assert len(receiver.requests) == 1
    assert before.get(("aioa_notifications_total", (("channel", "json"), ("status", "sent"))), 0) == 0
    assert after[("aioa_notifications_total", (("channel", "json"), ("status", "sent")))] == 1.0
    assert after[("aioa_notifications_total", (("channel", "json"), ("status", "failed")))] == 1.0


def test_channel_labels_carry_no_host_or_address():
    assert channel_scheme("slack://hooks.example.com/T1") == "slack"
    assert channel_scheme("smtp:alice@example.com,bob@example.com") == "smtp"
