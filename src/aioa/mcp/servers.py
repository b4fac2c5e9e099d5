"""One discovered MCP server: how to start or reach it (kept in memory only) and its redacted public form."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from aioa.mcp.redact import redact_args, redact_mapping, redact_url

Transport = Literal["stdio", "sse", "streamable_http"]
Scope = Literal["user", "local", "project", "managed", "plugin", "desktop", "transcripts"]


@dataclass
class McpServer:
    """A configured (or only seen) MCP server. `env` and `headers` carry secrets: they are used to start or reach
    the server and are never printed or stored (`public()` redacts them)."""

    name: str
    scope: Scope
    transport: Transport | None
    configured_in: str | None  # file (and entry) the server came from; None for servers only seen in transcripts
    command: str | None = None
    args: list[str] = field(default_factory=list)
    shown_args: list[str] | None = None  # as configured, before ${VAR} expansion (what is printed, redacted)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    shown_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    plugin: str | None = None  # for a plugin's server: the plugin (its name is `plugin:<plugin>:<server>`)
    enabled: bool = True  # Claude Code's own on/off (disabledMcpjsonServers, a disabled entry)
    probe: bool = True  # aioa's per-server opt-out (AIOA_MCP_PROBE_DISABLED)
    first_seen: datetime | None = None
    transcript_calls: int = 0

    @property
    def key(self) -> str:
        """Stable id of this configuration: name, scope and where it is configured (not its command or secrets)."""
        text = "\x1f".join((self.name, self.scope, self.configured_in or ""))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def name_in_tools(self) -> str:
        """The server part of its tool names: `mcp__<server>__<tool>`, `mcp__plugin_<plugin>_<server>__<tool>`."""
        return self.name.split(":", 2)[2] if self.plugin and self.name.startswith("plugin:") else self.name

    @property
    def probeable(self) -> bool:
        return self.probe and self.enabled and self.transport is not None

    def public(self) -> dict:
        """What `aioa mcp discover --json` prints: secrets in env, headers, URL and arguments redacted."""
        return {
            "name": self.name,
            "scope": self.scope,
            "transport": self.transport,
            "command": self.command,
            "args": redact_args(self.args if self.shown_args is None else self.shown_args),
            "url": redact_url(self.shown_url or self.url) if (self.shown_url or self.url) else None,
            "env": redact_mapping(self.env),
            "headers": redact_mapping(self.headers),
            "configured_in": self.configured_in,
            "plugin": self.plugin,
            "enabled": self.enabled,
            "probe": self.probe,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "transcript_calls": self.transcript_calls,
            "key": self.key,
        }
