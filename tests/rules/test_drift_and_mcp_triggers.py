"""The `router_drift` trigger fires once per flagged drift metric of the org (from ml.routing_drift in the published
snapshot) and asks for a retraining; the `mcp_server_down` trigger fires once per outage of a server whose last
probes failed (the MCP status store), not while it answers, and backtests onto the day the outage began."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd
import pytest
from ml.routing.drift import routing_drift

from aioa.mcp.probe import ProbeResult
from aioa.mcp.servers import McpServer
from aioa.mcp.store import McpStore
from aioa.rules.engine import backtest, evaluate_all
from aioa.rules.requests import pending
from aioa.rules.spec import RuleError, parse_rule
from aioa.rules.store import save_rule
from aioa.settings import Settings
from aioa.warehouse.snapshots import publish_snapshot

LAST_DAY = date(2026, 11, 20)


def _drifted_handoffs() -> pd.DataFrame:
    """acme's routed tasks: success falls from 90% to 50% in the last 14 days (globex: no change)."""
    rows = []
    for org, late_success in (("acme", 0.5), ("globex", 0.9)):
        for offset in range(56):
            day = LAST_DAY - timedelta(days=offset)
            rate = late_success if offset < 14 else 0.9
            for index in range(10):
                rows.append(
                    {
                        "org_id": org,
                        "ts_utc": datetime(day.year, day.month, day.day, 12),
                        "task_type": "code",
                        "task_text": f"write function number {index}",
                        "success": index < rate * 10,
                        "outcome_verified": True,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def drift_home(tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("drift") / "home")
    settings.home.mkdir(parents=True)
    drift = routing_drift(_drifted_handoffs())
    usage = pd.DataFrame({"day": [LAST_DAY - timedelta(days=n) for n in range(3)], "org_id": ["acme"] * 3})
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("create schema marts")
        connection.execute("create schema ml")
        connection.register("usage_frame", usage)
        connection.register("drift_frame", drift)
        connection.execute("create table marts.agg_usage_daily as select * from usage_frame")
        connection.execute("create table ml.routing_drift as select * from drift_frame")
    publish_snapshot(settings)
    return settings


DRIFT_RULE = {
    "name": "router-drift",
    "trigger": {"kind": "router_drift", "metrics": ["success_rate"]},
    "condition": "value <= -0.1",
    "actions": [{"type": "retrain_router"}],
}


def test_router_drift_opens_one_incident_for_the_drifted_org_and_requests_a_retraining(drift_home, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(drift_home.home))
    for org in ("acme", "globex"):
        save_rule(drift_home, org, DRIFT_RULE)
    results = {result.org_id: result for result in evaluate_all(drift_home)}
    assert results["acme"].fired and len(results["acme"].incident_ids) == 1
    assert not results["globex"].fired and results["globex"].matches == 0
    (request,) = [item for item in pending(drift_home, "acme") if item["kind"] == "retrain_router"]
    assert request["rule_id"]
    again = {result.org_id: result for result in evaluate_all(drift_home)}
    assert not again["acme"].fired  # the same drift run is one finding

    fired = backtest(drift_home, "acme", parse_rule(DRIFT_RULE), days=3)
    (entry,) = fired
    assert entry["day"] == LAST_DAY.isoformat()
    facts = entry["incidents"][0]["facts"]
    assert facts["metric"] == "success_rate" and facts["drift_kind"] == "outcome"
    assert facts["value"] == pytest.approx(-0.4, abs=1e-9)  # 50% against 90%


def test_router_drift_conditions_are_checked_against_its_facts():
    with pytest.raises(RuleError) as error:
        parse_rule(DRIFT_RULE | {"condition": "psi > 0.2"})
    assert "psi" in str(error.value) and "drift_kind" in str(error.value)


def _probe(server: McpServer, status: str, at: datetime) -> ProbeResult:
    return ProbeResult(server, status, None if status == "up" else "connection refused", probed_at=at)


MCP_RULE = {
    "name": "mcp-down",
    "trigger": {"kind": "mcp_server_down", "consecutive_probes": 2},
    "actions": [{"type": "notify", "channels": ["json://127.0.0.1:9/never"]}],
}


def test_mcp_server_down_fires_once_per_outage_and_not_for_a_single_failed_probe(tmp_path, monkeypatch):
    settings = Settings(home=tmp_path / "home")
    monkeypatch.setenv("AIOA_HOME", str(settings.home))
    github = McpServer("github", "user", "stdio", "~/.claude.json")
    files = McpServer("files", "project", "stdio", ".mcp.json")
    now = datetime.now(UTC)
    store = McpStore(settings)
    try:
        for minutes, (github_status, files_status) in enumerate(
            [("up", "up"), ("down", "down"), ("down", "up"), ("down", "up")]
        ):
            at = now - timedelta(minutes=30 - 5 * minutes)
            store.record_probe("acme", _probe(github, github_status, at))
            store.record_probe("acme", _probe(files, files_status, at))
    finally:
        store.close()
    save_rule(settings, "acme", MCP_RULE)
    (result,) = evaluate_all(settings, "acme")
    assert result.fired and result.matches == 1  # github: 3 failed probes; files: one, then up again
    (incident_id,) = result.incident_ids
    from aioa.rules.incidents import incident_data, list_incidents

    (incident,) = [incident_data(row) for row in list_incidents(settings, "acme")]
    assert incident["id"] == incident_id and incident["group"] == {"server": "github"}
    (again,) = evaluate_all(settings, "acme")
    assert not again.fired  # the same outage

    store = McpStore(settings)
    try:
        store.record_probe("acme", _probe(github, "up", now - timedelta(minutes=4)))
    finally:
        store.close()
    (recovered,) = evaluate_all(settings, "acme")
    assert recovered.matches == 0
