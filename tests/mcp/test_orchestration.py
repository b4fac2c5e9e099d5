"""The Dagster MCP domain: the probe job discovers the configured servers, probes them and stores the results
under the resource's org; the schedule launches that job."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from orchestration.defs.mcp.jobs import mcp_probe_job
from orchestration.defs.mcp.resources import McpMonitorResource
from orchestration.defs.mcp.schedules import mcp_probe_schedule

from aioa.mcp.store import McpStore
from aioa.settings import Settings
from tests.mcp.conftest import FAKE
from tests.mcp.fake_servers import CRASH_MESSAGE


def test_the_probe_job_stores_each_configured_servers_status(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    user = tmp_path / "user"
    user.mkdir()
    (user / ".claude.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "fake-stdio": {"command": sys.executable, "args": [str(FAKE), "stdio"]},
                    "crashing": {"command": sys.executable, "args": [str(FAKE), "crash"]},
                }
            }
        )
    )
    settings = Settings(home=tmp_path / "home", mcp_user_home=user, mcp_probe_timeout_s=30)
    resource = McpMonitorResource.for_settings(settings, org_id="acme")
    result = mcp_probe_job.execute_in_process(resources={"mcp_monitor": resource})
    assert result.success
    assert result.output_for_node("probe_mcp_servers") == {"up": 1, "down": 1, "skipped": 0, "tool_changes": 0}
    store = McpStore(settings)
    try:
        summary = {row["name"]: row for row in store.summary("acme")}
    finally:
        store.close()
    assert summary["fake-stdio"]["last_status"] == "up" and summary["crashing"]["last_status"] == "down"
    assert CRASH_MESSAGE in summary["crashing"]["last_reason"]
    assert mcp_probe_schedule.job_name == "mcp_probe_job"
