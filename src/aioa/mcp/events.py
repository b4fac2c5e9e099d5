"""Tool-list change events of MCP servers (added, removed, schema changed), for the rules engine and reports:
`tool_change_events(settings, org_id, since)` is the one function other code reads them through."""

from __future__ import annotations

from datetime import datetime

from aioa.mcp.store import McpStore, ToolChange
from aioa.settings import Settings


def tool_change_events(settings: Settings, org_id: str, since: datetime | None = None) -> list[ToolChange]:
    """The org's tool-list changes detected by probes, oldest first (`since`: only those detected from then)."""
    store = McpStore(settings)
    try:
        return store.tool_changes(org_id, since)
    finally:
        store.close()
