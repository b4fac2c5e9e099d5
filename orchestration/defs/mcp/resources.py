"""The MCP domain's settings: which org the probe results are stored under (default: AIOA_DEFAULT_ORG)."""

from __future__ import annotations

from orchestration.settings_resource import SettingsResource


class McpMonitorResource(SettingsResource):
    org_id: str = ""

    def org(self) -> str:
        return self.org_id or self.settings().default_org
