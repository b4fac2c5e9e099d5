"""The app's MCP page shows the live status (the last probe per server, with uptime) beside the tool performance
and the recommendations from use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from aioa.mcp.probe import ProbeResult, tool_fingerprint
from aioa.mcp.servers import McpServer
from aioa.mcp.store import McpStore
from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.snapshots import open_snapshot

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")


@pytest.fixture
def probed_home(built_home, tmp_path, monkeypatch):
    """The built sample, read as the local operator, with a status store of two servers' probes."""
    store_url = f"sqlite:///{tmp_path / 'mcp.db'}"
    monkeypatch.setenv("AIOA_AUTH", "off")
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    monkeypatch.setenv("AIOA_MCP_STATUS_URL", store_url)
    connection, _ = open_snapshot(Settings(home=built_home))
    with connection:
        org = connection.execute("select min(org_id) from marts.dim_orgs").fetchone()[0]
    store = McpStore(Settings(home=tmp_path, mcp_status_url=store_url))
    now = datetime.now(UTC)
    github = McpServer("github", "user", "stdio", "test")
    docs = McpServer("docs", "project", "streamable_http", "test")
    tools = [tool_fingerprint("search", "Search.", {"type": "object"})]
    for minutes, status in ((30, "up"), (20, "up"), (10, "down")):
        reason = None if status == "up" else "no answer within 15 s (during initialize)"
        latency = 12.0 if status == "up" else None
        at = now - timedelta(minutes=minutes)
        store.record_probe(org, ProbeResult(github, status, reason, latency, tools=tools, probed_at=at))
    store.record_probe(org, ProbeResult(docs, "up", None, 5.0, server_version="1.2.0", tools=tools, probed_at=now))
    store.close()
    return built_home


def test_the_page_shows_live_status_beside_use(probed_home):
    app = AppTest.from_file(APP, default_timeout=90)
    app.run()
    app.switch_page("app_pages/mcp_tools.py")
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    assert not app.error, [item.value for item in app.error]
    status = app.dataframe[0].value.set_index("name")
    assert status.loc["github", "last_status"] == "down" and status.loc["github", "uptime"] == pytest.approx(2 / 3)
    assert status.loc["docs", "last_status"] == "up" and status.loc["docs", "server_version"] == "1.2.0"
    assert any("1 of 2 servers up" in caption.value for caption in app.caption)
    headers = [header.value for header in app.subheader]
    assert headers == ["Live status", "Tool performance from use", "Recommendations"]
