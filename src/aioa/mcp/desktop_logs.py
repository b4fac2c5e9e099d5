"""Claude Desktop's MCP server logs (`mcp-server-<name>.log`, and `mcp.log` for all servers): connection errors
and timings per server. Lines look like

    2025-03-10T17:03:18.749Z [demo] [info] Initializing server...
    2025-03-10T17:03:18.764Z [demo] [info] Message from client: {"method":"initialize",...,"id":0}
    2025-03-10T17:03:18.829Z [demo] [info] Message from server: {"jsonrpc":"2.0","id":0,"result":{...}}
    2026-08-14T03:46:15.540Z [demo] [error] Server disconnected. For troubleshooting guidance, ...

(`mcp.log` puts the level first: `[info] [demo]`). Lines that do not start with a timestamp continue the line
before (multi-line metadata) and are skipped. Locations per OS: docs/mcp.md."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aioa.mcp import locations
from aioa.mcp.store import percentile
from aioa.settings import Settings

_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+Z?) \[([^\]]+)\] \[([^\]]+)\] ?(.*)$")
_LEVELS = {"debug", "info", "warn", "warning", "error", "fatal"}
_FAILURE_HINTS = ("server disconnected", "closed unexpectedly", "enoent", "failed", "timed out", "timeout")


@dataclass
class ServerLog:
    server: str
    files: set[str] = field(default_factory=set)
    starts: int = 0
    connect_ms: list[float] = field(default_factory=list)
    request_ms: dict[str, list[float]] = field(default_factory=dict)
    error_responses: int = 0
    errors: list[tuple[datetime, str]] = field(default_factory=list)
    first_at: datetime | None = None
    last_at: datetime | None = None
    _starting: datetime | None = None
    _pending: dict[object, tuple[datetime, str]] = field(default_factory=dict)

    def public(self) -> dict:
        latencies = sorted(value for values in self.request_ms.values() for value in values)
        return {
            "server": self.server,
            "log_files": sorted(self.files),
            "starts": self.starts,
            "connect_ms_p50": percentile(sorted(self.connect_ms), 50),
            "connect_ms_max": max(self.connect_ms, default=None),
            "requests": len(latencies),
            "request_ms_p50": percentile(latencies, 50),
            "request_ms_p95": percentile(latencies, 95),
            "by_method": {
                method: {"requests": len(values), "ms_p50": percentile(sorted(values), 50)}
                for method, values in sorted(self.request_ms.items())
            },
            "error_responses": self.error_responses,
            "errors": len(self.errors),
            "last_error": self.errors[-1][1] if self.errors else None,
            "last_error_at": self.errors[-1][0].isoformat() if self.errors else None,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
        }


def log_files(settings: Settings) -> list[Path]:
    files: list[Path] = []
    for folder in locations.desktop_log_dirs(settings):
        files += sorted(folder.glob("mcp-server-*.log")) + sorted(folder.glob("mcp.log"))
    return files


def read_desktop_logs(settings: Settings, files: Iterable[Path] | None = None) -> list[ServerLog]:
    """Per server: starts, connect times, request latencies by method, error responses and errors."""
    servers: dict[str, ServerLog] = {}
    for path in log_files(settings) if files is None else files:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            parsed = _parse(line)
            if parsed is None:
                continue
            at, server, level, message = parsed
            log = servers.setdefault(server, ServerLog(server))
            log.files.add(str(path))
            _apply(log, at, level, message)
    return sorted(servers.values(), key=lambda log: log.server)


def _parse(line: str) -> tuple[datetime, str, str, str] | None:
    match = _LINE.match(line)
    if match is None:
        return None
    stamp, first, second, message = match.groups()
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if first.lower() in _LEVELS and second.lower() not in _LEVELS:
        first, second = second, first
    return at, first, second.lower(), message


def _apply(log: ServerLog, at: datetime, level: str, message: str) -> None:
    log.first_at = min(filter(None, (log.first_at, at)))
    log.last_at = max(filter(None, (log.last_at, at)))
    if message.startswith("Initializing server"):
        log.starts += 1
        log._starting = at
        log._pending.clear()  # request ids restart with each connection
    elif message.startswith("Server started and connected successfully") and log._starting is not None:
        log.connect_ms.append((at - log._starting).total_seconds() * 1000)
        log._starting = None
    elif message.startswith("Message from client:"):
        payload = _json(message)
        if payload.get("id") is not None and payload.get("method"):
            log._pending[payload["id"]] = (at, str(payload["method"]))
    elif message.startswith("Message from server:"):
        payload = _json(message)
        sent = log._pending.pop(payload.get("id"), None) if payload.get("id") is not None else None
        if sent is not None:
            log.request_ms.setdefault(sent[1], []).append((at - sent[0]).total_seconds() * 1000)
        if "error" in payload:
            log.error_responses += 1
    failed = level in ("error", "fatal") or any(hint in message.lower() for hint in _FAILURE_HINTS)
    if failed and not message.startswith("Message from"):
        log.errors.append((at, _strip_metadata(message)[:300]))


def _json(message: str) -> dict:
    text = _strip_metadata(message.split(":", 1)[1].strip())
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _strip_metadata(text: str) -> str:
    """Newer logs append ` { metadata: ... }` (not JSON) to each line."""
    return re.sub(r"\s*\{ metadata: .*$", "", text).strip()
