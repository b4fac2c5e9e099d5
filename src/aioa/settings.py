"""Settings: the one place configuration is read (environment variables prefixed `AIOA_`, or a `.env` file)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_home() -> Path:
    return PROJECT_ROOT / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIOA_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Folder that holds all state (AIOA_HOME).")
    attribution_file: Path | None = Field(
        default=None, description="Attribution YAML; default: <home>/attribution.yaml if it exists."
    )
    price_overrides_file: Path | None = Field(
        default=None, description="Price override YAML; default: <home>/price-overrides.yaml if it exists."
    )
    default_org: str = "default"
    batch_bytes: int = Field(default=256 * 1024 * 1024, description="Bytes of input per ingest transaction.")
    duckdb_memory_limit: str = "1GB"
    duckdb_threads: int | None = None

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def resolved_attribution_file(self) -> Path | None:
        return self.attribution_file or _existing(self.home / "attribution.yaml")

    @property
    def resolved_price_overrides_file(self) -> Path | None:
        return self.price_overrides_file or _existing(self.home / "price-overrides.yaml")


def _existing(path: Path) -> Path | None:
    return path if path.exists() else None


def get_settings() -> Settings:
    """Fresh settings from the environment (not cached: tests and tenants may differ per call)."""
    return Settings()


def claude_config_dirs() -> list[Path]:
    """Claude Code config dirs: `CLAUDE_CONFIG_DIR` (comma-separated), else ~/.claude and ~/.config/claude."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        return [Path(part).expanduser() for part in configured.split(",") if part.strip()]
    home = Path.home()
    return [path for path in (home / ".claude", home / ".config" / "claude") if path.exists()]
