"""One monitoring pass, the same from the CLI and the Dagster schedule: discover the configured servers, probe
them concurrently, store the results and the tool-list changes under the org."""

from __future__ import annotations

from dataclasses import dataclass, field

from aioa.mcp.discovery import discover
from aioa.mcp.probe import ProbeResult, probe_all
from aioa.mcp.servers import McpServer
from aioa.mcp.store import McpStore, ToolChange
from aioa.settings import Settings


@dataclass
class MonitorRun:
    results: list[ProbeResult] = field(default_factory=list)
    changes: list[ToolChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def down(self) -> list[ProbeResult]:
        return [result for result in self.results if result.status == "down"]


def configured_servers(settings: Settings, names: list[str] | None = None) -> tuple[list[McpServer], list[str]]:
    """Servers the user configured (never servers only seen in transcripts: aioa does not know how to start
    them), optionally only those named."""
    found = discover(settings, transcripts=False)
    servers = [server for server in found.servers if server.configured_in is not None]
    if names:
        servers = [server for server in servers if server.name in names]
    return servers, found.notes


def monitor(
    settings: Settings, org_id: str, *, names: list[str] | None = None, servers: list[McpServer] | None = None
) -> MonitorRun:
    notes: list[str] = []
    if servers is None:
        servers, notes = configured_servers(settings, names)
    results = probe_all(servers, timeout_s=settings.mcp_probe_timeout_s, concurrency=settings.mcp_probe_concurrency)
    run = MonitorRun(results=results, notes=notes)
    store = McpStore(settings)
    try:
        store.record_sightings(org_id, servers)
        for result in results:
            if result.status != "skipped":
                run.changes += store.record_probe(org_id, result)
    finally:
        store.close()
    return run
