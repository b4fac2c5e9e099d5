"""Where the logs are: configured from settings / environment, never read inside an asset."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from aioa.settings import Settings, claude_config_dirs


def _paths(value: str) -> list[Path]:
    return [Path(part).expanduser() for part in value.split(",") if part.strip()]


class UsageLogsResource(ConfigurableResource):
    """Log locations for each source (comma-separated); empty means "not configured", the asset then skips."""

    aioa_home: str = ""
    claude_code_dirs: str = ""
    handoff_paths: str = ""
    otel_paths: str = ""

    def settings(self) -> Settings:
        return Settings(home=Path(self.aioa_home)) if self.aioa_home else Settings()

    def paths_for(self, source: str) -> list[Path]:
        if source == "claude_code":
            return _paths(self.claude_code_dirs) or claude_config_dirs()
        if source == "handoff_log":
            return _paths(self.handoff_paths)
        if source == "otel":
            return _paths(self.otel_paths)
        raise ValueError(f"unknown source {source}")
