"""Probing real MCP servers started by the test (FastMCP over stdio and streamable HTTP, one that hangs, one that
crashes at start, one whose tool list changes): status, versions, tools, latency, reasons, stored history and
tool-change events, and no process left behind."""

from __future__ import annotations

import json
import os

import psutil
import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from aioa.mcp.events import tool_change_events
from aioa.mcp.monitor import monitor
from aioa.mcp.probe import PROBE_MARKER, probe_all
from aioa.mcp.servers import McpServer
from aioa.settings import Settings
from tests.mcp.conftest import stdio_server
from tests.mcp.fake_servers import CRASH_MESSAGE

TIMEOUT_S = 20.0  # generous for a loaded machine; only the hanging server waits it out


def _leftovers(allowed: set[int], markers: set[str]) -> list[psutil.Process]:
    """Processes this test started that are still alive (the module's HTTP server aside), and any process that
    carries one of these probes' markers (other probes running beside the test do not count)."""
    mine = [
        child
        for child in psutil.Process().children(recursive=True)
        if child.pid not in allowed and _ours(child)  # other tests' session servers may run beside
    ]
    marked = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get(PROBE_MARKER) in markers:
                marked.append(process)
        except (psutil.Error, OSError):
            continue
    return [process for process in mine + marked if process.is_running() and process.status() != "zombie"]


def _ours(process: psutil.Process) -> bool:
    try:
        command = " ".join(process.cmdline())
    except (psutil.Error, OSError):
        return False
    return "fake_servers.py" in command or "time.sleep(600)" in command  # the hanging server's own child


def _markers(results) -> set[str]:
    markers = {result.marker for result in results if result.marker}
    assert markers  # every started probe is marked
    return markers


@pytest.fixture(scope="module")
def tools_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tools") / "tools.json"
    path.write_text(json.dumps([["search", "search"], ["summarize", "summarize"]]))
    return path


@pytest.fixture(scope="module")
def probed(http_server_url, tools_file, tmp_path_factory):
    """One concurrent pass over every kind of server, stored like `aioa mcp status` stores it."""
    url, http_pid = http_server_url
    home = tmp_path_factory.mktemp("home")
    settings = Settings(home=home, mcp_probe_timeout_s=TIMEOUT_S, mcp_probe_concurrency=10)
    servers = [
        stdio_server("fake-stdio", "stdio"),
        McpServer("fake-http", "project", "streamable_http", "test:http", url=url, headers={"X-Api-Key": "k"}),
        stdio_server("hanging", "hang"),
        stdio_server("crashing", "crash"),
        stdio_server("changing", "changing", env={"FAKE_TOOLS_FILE": str(tools_file)}),
        stdio_server("opted-out", "stdio", probe=False),
    ]
    run = monitor(settings, "acme", servers=servers)
    return {result.server.name: result for result in run.results}, run, settings, servers, http_pid


def test_a_stdio_server_is_up_with_its_versions_tools_and_ping(probed):
    results = probed[0]
    stdio = results["fake-stdio"]
    assert stdio.status == "up", stdio.reason
    assert stdio.server_name == "fake-stdio" and stdio.server_version == "1.0.0"
    assert stdio.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS  # the initialize handshake was used
    assert sorted(tool.name for tool in stdio.tools) == ["add", "echo"]
    assert (stdio.resources, stdio.prompts) == (1, 1)
    assert stdio.latency_ms is not None and 0 < stdio.latency_ms < stdio.connect_ms
    public = stdio.public()
    assert {"name", "scope", "transport", "status", "reason", "latency_ms", "tools", "server_version"} <= set(public)
    assert public["tools"] == ["add", "echo"] and public["transport"] == "stdio"


def test_a_streamable_http_server_is_up(probed):
    http = probed[0]["fake-http"]
    assert http.status == "up", http.reason
    assert http.server_name == "fake-http" and sorted(tool.name for tool in http.tools) == ["add", "echo"]
    assert http.latency_ms is not None and http.latency_ms > 0


def test_a_hanging_server_is_down_with_the_stage_it_hung_in(probed):
    hanging = probed[0]["hanging"]
    assert hanging.status == "down"
    assert hanging.reason.startswith(f"no answer within {TIMEOUT_S:g} s (during initialize)")
    assert hanging.latency_ms is None and hanging.tools == []


def test_a_server_that_crashes_at_start_is_down_with_its_error(probed):
    crashing = probed[0]["crashing"]
    assert crashing.status == "down"
    assert CRASH_MESSAGE in crashing.reason
    assert "no answer within" not in crashing.reason  # seen as a crash, not waited out


def test_an_opted_out_server_is_never_started(probed):
    skipped = probed[0]["opted-out"]
    assert skipped.status == "skipped" and "AIOA_MCP_PROBE_DISABLED" in skipped.reason
    assert skipped.connect_ms is None


def test_no_process_is_left_behind(probed):
    http_pid = probed[4]
    assert _leftovers({http_pid}, _markers(probed[1].results)) == []


def test_history_uptime_and_latency_percentiles(probed):
    results, _, settings, _, _ = probed
    from aioa.mcp.store import McpStore

    store = McpStore(settings)
    try:
        summary = {row["name"]: row for row in store.summary("acme")}
        assert store.summary("other-org") == []
    finally:
        store.close()
    assert set(summary) == {"fake-stdio", "fake-http", "hanging", "crashing", "changing"}  # skipped: not stored
    assert summary["fake-stdio"]["uptime"] == 1.0 and summary["hanging"]["uptime"] == 0.0
    assert summary["fake-stdio"]["latency_ms_p50"] == pytest.approx(results["fake-stdio"].latency_ms)
    assert summary["crashing"]["last_status"] == "down" and CRASH_MESSAGE in summary["crashing"]["last_reason"]


def test_tool_list_changes_are_events_for_the_rules_engine(probed, tools_file):
    _, first_run, settings, servers, _ = probed
    assert first_run.changes == []  # the first list seen is the baseline
    changing = next(server for server in servers if server.name == "changing")
    # search gains a parameter, summarize goes, fetch comes
    tools_file.write_text(json.dumps([["search", "search_with_limit"], ["fetch", "fetch"]]))
    second = monitor(settings, "acme", servers=[changing])
    assert second.results[0].status == "up", second.results[0].reason
    expected = {("fetch", "added"), ("summarize", "removed"), ("search", "schema_changed")}
    assert {(change.tool_name, change.change) for change in second.changes} == expected
    events = tool_change_events(settings, "acme")
    assert {(event.server_name, event.tool_name, event.change) for event in events} == {
        ("changing", tool, change) for tool, change in expected
    }
    assert tool_change_events(settings, "other-org") == []
    # unchanged on the next probe: no new events
    third = monitor(settings, "acme", servers=[changing])
    assert third.changes == [] and len(tool_change_events(settings, "acme")) == 3
    assert _leftovers({probed[4]}, _markers(second.results + third.results)) == []


def test_the_probe_gives_a_server_its_own_env_only_through_the_marker_and_config(tmp_path):
    """A server's configured env reaches it (the changing server reads FAKE_TOOLS_FILE); a missing file is its
    own failure, reported as down with the reason, not an exception."""
    broken = stdio_server("changing", "changing", env={"FAKE_TOOLS_FILE": str(tmp_path / "absent.json")})
    (result,) = probe_all([broken], timeout_s=TIMEOUT_S, concurrency=1)
    assert result.status == "down" and "absent.json" in result.reason
    assert os.environ.get(PROBE_MARKER) is None
