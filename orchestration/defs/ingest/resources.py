"""Where the logs are: configured from settings / environment, never read inside an asset."""

from __future__ import annotations

from pathlib import Path

from aioa.ingest.registry import BY_NAME, split_paths
from orchestration.settings_resource import SettingsResource


class UsageLogsResource(SettingsResource):
    """Log locations for each source of `aioa.ingest.registry` (comma-separated; field = the source's settings key).

    With `from_settings` (the default) an empty field falls back to the AIOA_* setting and then to the source's
    default locations (Claude Code: ~/.claude); without it only the paths given here are read (`aioa run --sample`,
    tests). A source without paths is "not configured": its asset reports that and loads nothing.
    """

    claude_code_dirs: str = ""
    handoff_paths: str = ""
    otel_paths: str = ""
    routing_outcome_paths: str = ""
    from_settings: bool = True

    def paths_for(self, source: str) -> list[Path]:
        entry = BY_NAME[source]
        paths = split_paths(getattr(self, entry.settings_key))
        if paths or not self.from_settings:
            return paths
        return entry.configured_paths(self.settings())
