"""Where Claude Code and Claude Desktop keep MCP configuration and logs, per OS (documented in docs/mcp.md).
Every location can be overridden by a setting, which is how tests point discovery at files they write."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from aioa.settings import Settings


def user_home(settings: Settings) -> Path:
    return settings.mcp_user_home or Path.home()


def claude_code_dirs(settings: Settings) -> list[Path]:
    """Claude Code's config folders: `CLAUDE_CONFIG_DIR` (comma-separated) when no home is set for MCP, else
    `<home>/.claude`."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured and settings.mcp_user_home is None:
        return [Path(part).expanduser() for part in configured.split(",") if part.strip()]
    return [user_home(settings) / ".claude"]


def claude_json_files(settings: Settings) -> list[Path]:
    """`~/.claude.json` (user and local scopes); with `CLAUDE_CONFIG_DIR`, the `.claude.json` inside it."""
    candidates = [directory / ".claude.json" for directory in claude_code_dirs(settings)]
    candidates.append(user_home(settings) / ".claude.json")
    return _unique_existing(candidates)


def managed_mcp_files(settings: Settings) -> list[Path]:
    """Claude Code's managed (enterprise) `managed-mcp.json`."""
    if settings.mcp_managed_config is not None:
        return _unique_existing([settings.mcp_managed_config])
    if settings.mcp_user_home is not None:
        return []  # a test home: never read the machine's system files
    if sys.platform == "darwin":
        return _unique_existing([Path("/Library/Application Support/ClaudeCode/managed-mcp.json")])
    if sys.platform == "win32":
        return _unique_existing(
            [Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "ClaudeCode/managed-mcp.json"]
        )
    return _unique_existing([Path("/etc/claude-code/managed-mcp.json")])


def desktop_app_dirs(settings: Settings) -> list[Path]:
    """Claude Desktop's app-data folder on macOS, Windows and Linux (every one that exists under the home)."""
    home = user_home(settings)
    appdata = os.environ.get("APPDATA") if settings.mcp_user_home is None else None
    return [
        home / "Library" / "Application Support" / "Claude",  # macOS
        Path(appdata) / "Claude" if appdata else home / "AppData" / "Roaming" / "Claude",  # Windows
        home / ".config" / "Claude",  # Linux (unofficial builds)
    ]


def desktop_config_files(settings: Settings) -> list[Path]:
    if settings.mcp_desktop_config is not None:
        return _unique_existing([settings.mcp_desktop_config])
    return _unique_existing([folder / "claude_desktop_config.json" for folder in desktop_app_dirs(settings)])


def desktop_log_dirs(settings: Settings) -> list[Path]:
    """macOS: ~/Library/Logs/Claude; Windows: %APPDATA%\\Claude\\logs; Linux: ~/.config/Claude/logs."""
    if settings.mcp_desktop_log_dir is not None:
        return _unique_existing([settings.mcp_desktop_log_dir])
    home = user_home(settings)
    mac, windows, linux = desktop_app_dirs(settings)
    return _unique_existing([home / "Library" / "Logs" / "Claude", windows / "logs", linux / "logs"])


def project_dirs(settings: Settings, claude_json: dict | None = None) -> list[Path]:
    """Projects whose `.mcp.json` and `.claude/settings*.json` are read: those `~/.claude.json` lists, the
    configured extra folders, and the current folder."""
    folders = [Path(part).expanduser() for part in settings.mcp_project_dirs.split(",") if part.strip()]
    folders += [Path(path) for path in ((claude_json or {}).get("projects") or {})]
    if settings.mcp_user_home is None:
        folders.append(Path.cwd())
    return _unique_existing(folders)


def read_json(path: Path) -> dict:
    """A JSON object from `path`; an unreadable or malformed file reads as empty (discovery reports it)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _unique_existing(paths: list[Path]) -> list[Path]:
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            if path.exists():
                seen.setdefault(str(path.resolve()), path)
        except OSError:
            continue
    return list(seen.values())
