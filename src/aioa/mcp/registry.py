"""The official MCP registry's `server.json` entries: import them from a file or URL (`aioa mcp registry
import`), and match discovered servers to them (npm/PyPI/OCI package in the command, or the remote URL) to show
which configured servers run a version behind the registry's."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from aioa.mcp.servers import McpServer
from aioa.mcp.store import McpStore, metadata

registry_entries = sa.Table(
    "mcp_registry",
    metadata,
    sa.Column("name", sa.String, primary_key=True),  # e.g. io.github.modelcontextprotocol/server-filesystem
    sa.Column("version", sa.String, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("packages", sa.Text, nullable=False),  # JSON: [{registryType, identifier, version}]
    sa.Column("remotes", sa.Text, nullable=False),  # JSON: [url, ...]
    sa.Column("source", sa.String, nullable=False),
    sa.Column("imported_at", sa.DateTime, nullable=False),
)


@dataclass(frozen=True)
class RegistryEntry:
    name: str
    version: str
    description: str | None
    packages: tuple[tuple[str, str, str | None], ...]  # (registryType, identifier, version)
    remotes: tuple[str, ...]


def parse_entries(payload: object) -> list[RegistryEntry]:
    """`server.json` objects from one server.json, a list of them, or a registry API page (`{"servers": [{"server":
    {...}}, ...]}`); entries without a name or version are skipped."""
    if isinstance(payload, dict) and isinstance(payload.get("servers"), list):
        items = [item.get("server", item) if isinstance(item, dict) else item for item in payload["servers"]]
    elif isinstance(payload, list):
        items = payload
    else:
        items = [payload]
    entries = []
    for item in items:
        if not isinstance(item, dict) or not item.get("name") or not item.get("version"):
            continue
        packages = tuple(
            (
                str(package.get("registryType") or package.get("registry_type") or ""),
                str(package["identifier"]),
                package.get("version"),
            )
            for package in item.get("packages") or []
            if isinstance(package, dict) and package.get("identifier")
        )
        remotes = tuple(
            str(remote["url"]) for remote in item.get("remotes") or [] if isinstance(remote, dict) and remote.get("url")
        )
        entries.append(
            RegistryEntry(str(item["name"]), str(item["version"]), item.get("description"), packages, remotes)
        )
    return entries


def load(source: str, *, timeout_s: float = 20.0) -> list[RegistryEntry]:
    """Entries from a file path or an http(s) URL (one GET, with a timeout)."""
    if re.match(r"^https?://", source):
        import httpx

        response = httpx.get(source, timeout=timeout_s, follow_redirects=True)
        response.raise_for_status()
        return parse_entries(response.json())
    return parse_entries(json.loads(Path(source).read_text(encoding="utf-8")))


def import_entries(store: McpStore, entries: list[RegistryEntry], source: str) -> int:
    """Store the entries (a name imported again takes the new version); returns how many were stored."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.engine.begin() as connection:
        for entry in entries:
            connection.execute(registry_entries.delete().where(registry_entries.c.name == entry.name))
            connection.execute(
                registry_entries.insert().values(
                    name=entry.name,
                    version=entry.version,
                    description=entry.description,
                    packages=json.dumps(entry.packages),
                    remotes=json.dumps(entry.remotes),
                    source=source,
                    imported_at=now,
                )
            )
    return len(entries)


def stored_entries(store: McpStore) -> list[RegistryEntry]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(registry_entries)).all()
    return [
        RegistryEntry(
            row.name,
            row.version,
            row.description,
            tuple(tuple(package) for package in json.loads(row.packages)),
            tuple(json.loads(row.remotes)),
        )
        for row in rows
    ]


def match(servers: list[McpServer], entries: list[RegistryEntry], running: dict[str, str] | None = None) -> list[dict]:
    """Per discovered server: the registry entry it runs (by package in its command or by URL), the version it runs
    (pinned in its arguments, else the version its last probe reported in `running` by server key), the registry's
    version, and whether it is behind."""
    running = running or {}
    by_package = {(identifier.lower()): entry for entry in entries for _, identifier, _ in entry.packages}
    by_url = {_normal_url(url): entry for entry in entries for url in entry.remotes}
    out = []
    for server in servers:
        if server.configured_in is None:
            continue
        entry, pinned = None, None
        if server.url:
            entry = by_url.get(_normal_url(server.url))
        for token in [server.command or "", *server.args]:
            if entry is not None:
                break
            identifier, version = _split_pin(token)
            entry = by_package.get(identifier.lower())
            pinned = version if entry is not None else None
        current = pinned or running.get(server.key)
        out.append(
            {
                "name": server.name,
                "scope": server.scope,
                "registry_name": entry.name if entry else None,
                "registry_version": entry.version if entry else None,
                "version": current,
                "version_source": "pinned" if pinned else ("probe" if current else None),
                "behind": bool(entry and current and _older(current, entry.version)),
            }
        )
    return out


def _split_pin(token: str) -> tuple[str, str | None]:
    """`@scope/pkg@1.2.3`, `pkg==1.2.3`, `image:1.2.3` -> (identifier, version)."""
    if "==" in token:
        name, _, version = token.partition("==")
        return name, version or None
    at = token.rfind("@")
    if at > 0:
        return token[:at], token[at + 1 :] or None
    if ":" in token and "/" in token.split(":")[0] and "://" not in token:
        name, _, version = token.rpartition(":")
        return name, version or None
    return token, None


def _older(current: str, latest: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(current.lstrip("v")) < Version(latest.lstrip("v"))
    except InvalidVersion:
        return current != latest and current not in ("latest", "")


def _normal_url(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").lower()


def probed_versions(store: McpStore, org_id: str) -> dict[str, str]:
    """The server version each server's last successful probe reported, by server key."""
    from aioa.mcp.store import probes

    query = (
        sa.select(probes.c.server_key, probes.c.server_version)
        .where(probes.c.org_id == org_id, probes.c.status == "up", probes.c.server_version.is_not(None))
        .order_by(probes.c.probed_at, probes.c.id)
    )
    with store.engine.connect() as connection:
        return {key: version for key, version in connection.execute(query)}
