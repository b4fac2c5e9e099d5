"""Discover MCP servers: Claude Code's configuration (user, local and project scopes, managed servers, enabled
plugins), Claude Desktop's configuration, and servers seen in transcripts (`mcp__<server>__<tool>`).

Discovery only reads: it starts nothing. A project's `.mcp.json` server counts as enabled only when the user
approved it in Claude Code (`enabledMcpjsonServers` or `enableAllProjectMcpServers` in their own settings, the
project's `settings.local.json` or its `~/.claude.json` entry; never in the repository's checked-in
`.claude/settings.json`), so probing never runs a command that merely sits in a cloned repository."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aioa.mcp import locations
from aioa.mcp.servers import McpServer, Scope
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class Discovery:
    servers: list[McpServer] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # files read
    notes: list[str] = field(default_factory=list)  # unreadable files, no snapshot, ...


def discover(settings: Settings, scope: TenantScope | None = None, *, transcripts: bool = True) -> Discovery:
    """Every configured server (and, with `transcripts`, every server seen in the warehouse within `scope`)."""
    found = Discovery()
    disabled_probes = {name.strip() for name in settings.mcp_probe_disabled.split(",") if name.strip()}
    claude_jsons = [(path, locations.read_json(path)) for path in locations.claude_json_files(settings)]
    user_settings = _settings_files([d / "settings.json" for d in locations.claude_code_dirs(settings)], found)

    for path, config in claude_jsons:
        found.sources.append(str(path))
        found.servers += _entries(config.get("mcpServers"), "user", f"{path}#mcpServers")
    for path in locations.managed_mcp_files(settings):
        found.sources.append(str(path))
        found.servers += _entries(locations.read_json(path).get("mcpServers"), "managed", str(path))
    for path, config in user_settings:
        found.servers += _entries(config.get("mcpServers"), "user", f"{path}#mcpServers")

    projects_in_claude_json = {}
    for path, config in claude_jsons:
        for project, entry in (config.get("projects") or {}).items():
            if isinstance(entry, dict):
                projects_in_claude_json[project] = entry
                disabled = set(entry.get("disabledMcpServers") or [])
                for server in _entries(entry.get("mcpServers"), "local", f"{path}#projects[{project}]"):
                    server.enabled = server.name not in disabled
                    server.cwd = project
                    found.servers.append(server)

    all_settings = list(user_settings)
    for project in locations.project_dirs(settings, {"projects": projects_in_claude_json}):
        project_settings = _settings_files(
            [project / ".claude" / "settings.json", project / ".claude" / "settings.local.json"], found
        )
        all_settings += project_settings
        # approvals count only from the user's own files: a repository's checked-in .claude/settings.json could
        # otherwise approve its own servers (enableAllProjectMcpServers) and have aioa run them
        local = [config for path, config in project_settings if path.name == "settings.local.json"]
        approvals = [config for _, config in user_settings] + local
        approvals.append(projects_in_claude_json.get(str(project), {}))
        mcp_json = project / ".mcp.json"
        if mcp_json.exists():
            found.sources.append(str(mcp_json))
            for server in _entries(locations.read_json(mcp_json).get("mcpServers"), "project", str(mcp_json)):
                server.enabled = _approved(server.name, approvals)
                server.cwd = str(project)
                found.servers.append(server)
        for path, config in project_settings:
            for server in _entries(config.get("mcpServers"), "project", f"{path}#mcpServers"):
                server.enabled = path.name == "settings.local.json" or _approved(server.name, approvals)
                server.cwd = str(project)
                found.servers.append(server)
    found.servers += _plugin_servers(settings, all_settings, found)

    for path in locations.desktop_config_files(settings):
        found.sources.append(str(path))
        found.servers += _entries(locations.read_json(path).get("mcpServers"), "desktop", str(path))

    found.servers = _deduplicated(found.servers)
    for server in found.servers:
        server.probe = server.name not in disabled_probes
    if transcripts:
        _add_transcript_servers(settings, scope or TenantScope.all_orgs(), found)
    return found


def _entries(block: object, scope: Scope, configured_in: str, plugin: str | None = None) -> list[McpServer]:
    if not isinstance(block, dict):
        return []
    servers = []
    for name, spec in block.items():
        if isinstance(spec, dict):
            servers.append(server_from_entry(str(name), spec, scope, configured_in, plugin=plugin))
    return servers


def server_from_entry(
    name: str, spec: dict, scope: Scope, configured_in: str, *, plugin: str | None = None, root: str | None = None
) -> McpServer:
    """One `mcpServers` entry as Claude Code and Claude Desktop read it (`type` stdio/sse/http, `command`,
    `args`, `env`, `url`, `headers`; `${VAR}` and `${VAR:-default}` expanded from the environment)."""
    kind = str(spec.get("type") or spec.get("transport") or "").lower().replace("-", "_")
    url = spec.get("url") if isinstance(spec.get("url"), str) else None
    if kind in ("http", "streamable_http", "streamablehttp"):
        transport = "streamable_http"
    elif kind == "sse":
        transport = "sse"
    elif kind == "stdio" or spec.get("command"):
        transport = "stdio"
    elif url:
        transport = "sse" if url.rstrip("/").endswith("/sse") else "streamable_http"
    else:
        transport = None
    extra = {"CLAUDE_PLUGIN_ROOT": root} if root else {}
    args = [str(arg) for arg in spec.get("args") or [] if isinstance(arg, str | int | float)]
    return McpServer(
        name=name,
        scope=scope,
        transport=transport,
        configured_in=configured_in,
        command=_expand(spec.get("command"), extra) if spec.get("command") else None,
        args=[_expand(arg, extra) for arg in args],
        shown_args=args,
        env={str(k): _expand(v, extra) for k, v in _mapping(spec.get("env")).items()},
        url=_expand(url, extra) if url else None,
        shown_url=url,
        headers={str(k): _expand(v, extra) for k, v in _mapping(spec.get("headers")).items()},
        enabled=not spec.get("disabled", False),
        plugin=plugin,
    )


def _mapping(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _expand(text: str, extra: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        return extra.get(name) or os.environ.get(name) or (default if default is not None else "")

    return _ENV_REFERENCE.sub(replace, str(text))


def _settings_files(paths: list[Path], found: Discovery) -> list[tuple[Path, dict]]:
    read = []
    for path in paths:
        if path.exists():
            found.sources.append(str(path))
            config = locations.read_json(path)
            if not config:
                found.notes.append(f"{path}: not a JSON object (skipped)")
            read.append((path, config))
    return read


def _approved(name: str, configs: list[dict]) -> bool:
    """Claude Code starts a project server only once approved; a later `disabledMcpjsonServers` wins."""
    approved = False
    for config in configs:
        if config.get("enableAllProjectMcpServers") is True or name in (config.get("enabledMcpjsonServers") or []):
            approved = True
        if name in (config.get("disabledMcpjsonServers") or []):
            return False
    return approved


def _plugin_servers(settings: Settings, settings_files: list[tuple[Path, dict]], found: Discovery) -> list:
    """Servers of enabled plugins (`enabledPlugins: {"name@marketplace": true}`): the plugin's `.mcp.json` or the
    `mcpServers` of its `.claude-plugin/plugin.json`, with `${CLAUDE_PLUGIN_ROOT}` set to its folder."""
    enabled: dict[str, bool] = {}
    for _, config in settings_files:
        for plugin_id, on in (config.get("enabledPlugins") or {}).items():
            enabled[plugin_id] = bool(on)
    servers = []
    for plugin_id in sorted(plugin for plugin, on in enabled.items() if on):
        root = _plugin_root(settings, plugin_id)
        if root is None:
            found.notes.append(f"plugin {plugin_id} is enabled but not installed under ~/.claude/plugins")
            continue
        plugin = plugin_id.split("@", 1)[0]
        manifest = locations.read_json(root / ".claude-plugin" / "plugin.json").get("mcpServers")
        if isinstance(manifest, str):
            manifest = locations.read_json(root / manifest)
        blocks = [(root / ".mcp.json", locations.read_json(root / ".mcp.json")), (root / "plugin.json", manifest)]
        for path, block in blocks:
            if isinstance(block, dict) and isinstance(block.get("mcpServers"), dict):
                block = block["mcpServers"]
            if not isinstance(block, dict):
                continue
            for name, spec in block.items():
                if isinstance(spec, dict):
                    display = f"plugin:{plugin}:{name}"
                    where = f"{path} ({plugin_id})"
                    servers.append(server_from_entry(display, spec, "plugin", where, plugin=plugin, root=str(root)))
    return servers


def _plugin_root(settings: Settings, plugin_id: str) -> Path | None:
    name, _, marketplace = plugin_id.partition("@")
    for claude_dir in locations.claude_code_dirs(settings):
        plugins = claude_dir / "plugins"
        installed = locations.read_json(plugins / "installed_plugins.json").get("plugins") or {}
        entries = installed.get(plugin_id)
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, dict) and entry.get("installPath") and Path(entry["installPath"]).exists():
                return Path(entry["installPath"])
        cached = sorted((plugins / "cache" / marketplace / name).glob("*/"), key=lambda p: p.stat().st_mtime)
        if cached:
            return cached[-1]
        for candidate in (plugins / "marketplaces" / marketplace / "plugins" / name, plugins / "marketplaces" / name):
            if candidate.is_dir():
                return candidate
    return None


def _deduplicated(servers: list[McpServer]) -> list[McpServer]:
    by_key: dict[str, McpServer] = {}
    for server in servers:
        by_key.setdefault(server.key, server)
    return list(by_key.values())


def tool_name_part(name: str) -> str:
    """How Claude Code writes a server name inside tool names (`mcp__<server>__<tool>`)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _add_transcript_servers(settings: Settings, scope: TenantScope, found: Discovery) -> None:
    from aioa.mcp.usage import servers_in_transcripts
    from aioa.warehouse.snapshots import NoSnapshotError

    try:
        seen = servers_in_transcripts(settings, scope)
    except NoSnapshotError as error:
        found.notes.append(f"transcripts not read: {error}")
        return
    configured = {(server.plugin, tool_name_part(server.name_in_tools)): server for server in found.servers}
    for row in seen:
        match = configured.get((row["mcp_plugin"], row["mcp_server"]))
        first: datetime = row["first_seen"]
        if match is not None:
            match.transcript_calls += row["calls"]
            match.first_seen = min(filter(None, (match.first_seen, first)))
            continue
        name = f"plugin:{row['mcp_plugin']}:{row['mcp_server']}" if row["mcp_plugin"] else row["mcp_server"]
        found.servers.append(
            McpServer(
                name=name,
                scope="transcripts",
                transport=None,
                configured_in=None,
                plugin=row["mcp_plugin"],
                first_seen=first,
                transcript_calls=row["calls"],
            )
        )
