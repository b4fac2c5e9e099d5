"""The MCP status store: discovery sightings (first seen), probe history, each server's current tool list, and
tool-list change events, every row under its org. SQLite at <home>/mcp.db by default, PostgreSQL by setting
(`AIOA_MCP_STATUS_URL`). Commands, env and headers are never written: only names, scopes and outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from aioa.mcp.probe import ProbeResult
from aioa.mcp.servers import McpServer
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope

metadata = sa.MetaData()

servers_seen = sa.Table(
    "mcp_servers_seen",
    metadata,
    sa.Column("org_id", sa.String, primary_key=True),
    sa.Column("server_key", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("scope", sa.String, nullable=False),
    sa.Column("transport", sa.String),
    sa.Column("configured_in", sa.String),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("last_seen", sa.DateTime, nullable=False),
)

probes = sa.Table(
    "mcp_probes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.String, nullable=False, index=True),
    sa.Column("server_key", sa.String, nullable=False, index=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("scope", sa.String, nullable=False),
    sa.Column("transport", sa.String),
    sa.Column("probed_at", sa.DateTime, nullable=False, index=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("latency_ms", sa.Float),
    sa.Column("connect_ms", sa.Float),
    sa.Column("protocol_version", sa.String),
    sa.Column("server_name", sa.String),
    sa.Column("server_version", sa.String),
    sa.Column("tools", sa.Integer),
    sa.Column("resources", sa.Integer),
    sa.Column("prompts", sa.Integer),
)

tool_state = sa.Table(
    "mcp_tools",
    metadata,
    sa.Column("org_id", sa.String, primary_key=True),
    sa.Column("server_key", sa.String, primary_key=True),
    sa.Column("tool_name", sa.String, primary_key=True),
    sa.Column("schema_sha256", sa.String, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

tool_events = sa.Table(
    "mcp_tool_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.String, nullable=False, index=True),
    sa.Column("server_key", sa.String, nullable=False),
    sa.Column("server_name", sa.String, nullable=False),
    sa.Column("tool_name", sa.String, nullable=False),
    sa.Column("change", sa.String, nullable=False),  # added, removed, schema_changed
    sa.Column("detected_at", sa.DateTime, nullable=False, index=True),
    sa.Column("old_schema_sha256", sa.String),
    sa.Column("new_schema_sha256", sa.String),
)


@dataclass(frozen=True)
class ToolChange:
    org_id: str
    server_key: str
    server_name: str
    tool_name: str
    change: str
    detected_at: datetime
    old_schema_sha256: str | None
    new_schema_sha256: str | None

    def public(self) -> dict:
        return {**self.__dict__, "detected_at": self.detected_at.isoformat()}


class McpStore:
    def __init__(self, settings: Settings) -> None:
        url = settings.mcp_status_url or f"sqlite:///{settings.home / 'mcp.db'}"
        if url.startswith("sqlite:///"):
            settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def record_sightings(self, org_id: str, servers: Iterable[McpServer], now: datetime | None = None) -> None:
        """Remember each configured server; sets `first_seen` to the earlier of aioa's first sighting and the
        transcripts' first use."""
        now = _naive(now or datetime.now(UTC))
        with self.engine.begin() as connection:
            for server in servers:
                if server.configured_in is None:
                    continue
                key = {"org_id": org_id, "server_key": server.key}
                row = connection.execute(sa.select(servers_seen.c.first_seen).filter_by(**key)).scalar_one_or_none()
                if row is None:
                    connection.execute(
                        servers_seen.insert().values(
                            **key,
                            name=server.name,
                            scope=server.scope,
                            transport=server.transport,
                            configured_in=server.configured_in,
                            first_seen=now,
                            last_seen=now,
                        )
                    )
                    row = now
                else:
                    connection.execute(servers_seen.update().filter_by(**key).values(last_seen=now))
                seen = [row] + ([_naive(server.first_seen)] if server.first_seen else [])
                server.first_seen = min(seen).replace(tzinfo=UTC)

    def record_probe(self, org_id: str, result: ProbeResult) -> list[ToolChange]:
        """Store one probe; for a server that answered, compare its tools with the last list and record the
        changes (the first list seen is the baseline: no events)."""
        server = result.server
        at = _naive(result.probed_at)
        changes: list[ToolChange] = []
        with self.engine.begin() as connection:
            connection.execute(
                probes.insert().values(
                    org_id=org_id,
                    server_key=server.key,
                    name=server.name,
                    scope=server.scope,
                    transport=server.transport,
                    probed_at=at,
                    status=result.status,
                    reason=result.reason,
                    latency_ms=result.latency_ms,
                    connect_ms=result.connect_ms,
                    protocol_version=result.protocol_version,
                    server_name=result.server_name,
                    server_version=result.server_version,
                    tools=len(result.tools) if result.status == "up" else None,
                    resources=result.resources,
                    prompts=result.prompts,
                )
            )
            if result.status != "up":
                return changes
            key = {"org_id": org_id, "server_key": server.key}
            before = dict(
                connection.execute(sa.select(tool_state.c.tool_name, tool_state.c.schema_sha256).filter_by(**key)).all()
            )
            after = {tool.name: tool.schema_sha256 for tool in result.tools}
            baseline = (
                not before
                and not connection.execute(
                    sa.select(sa.func.count()).select_from(probes).filter_by(status="up", **key)
                ).scalar_one()
                > 1
            )
            if not baseline:
                for name in sorted(after.keys() - before.keys()):
                    changes.append(ToolChange(org_id, server.key, server.name, name, "added", at, None, after[name]))
                for name in sorted(before.keys() - after.keys()):
                    changes.append(ToolChange(org_id, server.key, server.name, name, "removed", at, before[name], None))
                for name in sorted(before.keys() & after.keys()):
                    if before[name] != after[name]:
                        changes.append(
                            ToolChange(
                                org_id, server.key, server.name, name, "schema_changed", at, before[name], after[name]
                            )
                        )
            if changes:
                connection.execute(tool_events.insert(), [change.__dict__ for change in changes])
            connection.execute(tool_state.delete().filter_by(**key))
            if after:
                connection.execute(
                    tool_state.insert(),
                    [{**key, "tool_name": name, "schema_sha256": sha, "updated_at": at} for name, sha in after.items()],
                )
        return changes

    def tool_changes(self, org_id: str, since: datetime | None = None) -> list[ToolChange]:
        query = sa.select(tool_events).where(tool_events.c.org_id == org_id).order_by(tool_events.c.id)
        if since is not None:
            query = query.where(tool_events.c.detected_at >= _naive(since))
        with self.engine.connect() as connection:
            return [
                ToolChange(**{name: row._mapping[name] for name in ToolChange.__dataclass_fields__})
                for row in connection.execute(query)
            ]

    def history(self, org_id: str, since: datetime | None = None) -> list[dict]:
        query = sa.select(probes).where(probes.c.org_id == org_id).order_by(probes.c.probed_at, probes.c.id)
        if since is not None:
            query = query.where(probes.c.probed_at >= _naive(since))
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def org_ids(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.select(probes.c.org_id).distinct().order_by(probes.c.org_id)).scalars())

    def summary(self, org_id: str, since: datetime | None = None) -> list[dict]:
        """Per server: probes, uptime (share of probes up), latency p50/p95 of the probes that answered, and the
        last status and reason."""
        by_server: dict[str, list[dict]] = {}
        for row in self.history(org_id, since):
            by_server.setdefault(row["server_key"], []).append(row)
        out = []
        for key, rows in by_server.items():
            answered = [row for row in rows if row["status"] in ("up", "down")]
            latencies = sorted(row["latency_ms"] for row in answered if row["latency_ms"] is not None)
            last = rows[-1]
            out.append(
                {
                    "key": key,
                    "name": last["name"],
                    "scope": last["scope"],
                    "transport": last["transport"],
                    "probes": len(answered),
                    "up": sum(row["status"] == "up" for row in answered),
                    "uptime": (sum(row["status"] == "up" for row in answered) / len(answered)) if answered else None,
                    "latency_ms_p50": percentile(latencies, 50),
                    "latency_ms_p95": percentile(latencies, 95),
                    "last_status": last["status"],
                    "last_reason": last["reason"],
                    "last_probed_at": last["probed_at"].isoformat(),
                    "server_version": last["server_version"],
                }
            )
        return sorted(out, key=lambda row: row["name"])


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default) of already sorted values."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _naive(moment: datetime) -> datetime:
    """UTC without tzinfo: SQLite drops offsets, so every stored time is naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def live_status(settings: Settings, scope: TenantScope, days: int = 7) -> list[dict]:
    """The last probe, uptime and latency percentiles per server of the scope's orgs over `days` (the app's
    view). Server status is org-level: a scope narrowed to a team's or a user's rows gets none, as it gets no rows
    of the other org-level MCP tables."""
    if scope.rows_narrowed:
        return []
    if settings.mcp_status_url is None and not (settings.home / "mcp.db").exists():
        return []  # nothing probed yet; the reader creates no store
    store = McpStore(settings)
    try:
        orgs = scope.org_ids if scope.org_ids is not None else store.org_ids()
        since = datetime.now(UTC) - timedelta(days=days)
        return [{"org_id": org, **row} for org in orgs for row in store.summary(org, since)]
    finally:
        store.close()
