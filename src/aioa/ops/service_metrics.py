"""MCP server status and notification deliveries for Prometheus, read at scrape time from the stores that record them.

Probes (the watcher, the Dagster schedule, `aioa mcp monitor`, a Celery worker) and notifications (rule actions,
webhook deliveries) happen in short processes, so the samples come from what they persist: the MCP status store's
latest probe per server (up, latency) and probe counts, the identity store's `notifications` rows (sent/failed per
channel scheme: never a host or credentials) and `webhook_deliveries` per status. Counts only, no tenant data beyond
the org id of a server. Registered beside the pipeline's collector (`aioa.ops.metrics.pipeline_registry`).
"""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from aioa.settings import Settings


class ServiceCollector(Collector):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self):
        yield from self._mcp_families()
        yield from self._notification_families()

    def _mcp_families(self):
        up = GaugeMetricFamily(
            "aioa_mcp_server_up", "1 if the server's latest probe answered, else 0.", labels=["org", "server", "scope"]
        )
        latency = GaugeMetricFamily(
            "aioa_mcp_server_latency_seconds",
            "Latency of the server's latest successful probe.",
            labels=["org", "server", "scope"],
        )
        probed = CounterMetricFamily(
            "aioa_mcp_probes", "Stored probes per server and outcome.", labels=["org", "server", "status"]
        )
        for org, server, scope, status, latency_ms in _latest_probes(self.settings):
            up.add_metric([org, server, scope], 1.0 if status == "up" else 0.0)
            if status == "up" and latency_ms is not None:
                latency.add_metric([org, server, scope], latency_ms / 1000)
        for org, server, status, count in _probe_counts(self.settings):
            probed.add_metric([org, server, status], count)
        yield from (up, latency, probed)

    def _notification_families(self):
        sent = CounterMetricFamily(
            "aioa_notifications",
            "Rule notifications per channel scheme (slack, mailto, smtp, json, ...) and status (sent, failed, ...).",
            labels=["channel", "status"],
        )
        webhooks = GaugeMetricFamily(
            "aioa_webhook_deliveries", "Webhook deliveries per status (pending, delivered, dead).", labels=["status"]
        )
        attempts = CounterMetricFamily(
            "aioa_webhook_attempts", "Webhook delivery attempts by outcome (ok: a 2xx answer).", labels=["outcome"]
        )
        counts = _notification_counts(self.settings)
        if counts is not None:
            per_channel: dict[tuple[str, str], int] = {}
            for channel, status, count in counts["notifications"]:
                key = (channel_scheme(channel), status)
                per_channel[key] = per_channel.get(key, 0) + count
            for (scheme, status), count in sorted(per_channel.items()):
                sent.add_metric([scheme, status], count)
            for status, count in counts["deliveries"]:
                webhooks.add_metric([status], count)
            for outcome, count in counts["attempts"]:
                attempts.add_metric([outcome], count)
        yield from (sent, webhooks, attempts)


def channel_scheme(channel: str) -> str:
    """`slack://hooks.example` -> `slack`, `smtp:a@b,c@d` -> `smtp`: a bounded label without hosts or addresses."""
    return channel.split(":", 1)[0].lower() or "unknown"


def _mcp_engine(settings: Settings) -> sa.Engine | None:
    if settings.mcp_status_url:
        return sa.create_engine(settings.mcp_status_url)
    path = settings.home / "mcp.db"
    return sa.create_engine(f"sqlite:///{path}") if path.exists() else None  # no probe yet: no file made by a scrape


def _latest_probes(settings: Settings) -> list[tuple]:
    from aioa.mcp.store import probes

    engine = _mcp_engine(settings)
    if engine is None:
        return []
    latest = sa.select(sa.func.max(probes.c.id)).group_by(probes.c.org_id, probes.c.server_key).scalar_subquery()
    query = (
        sa.select(probes.c.org_id, probes.c.name, probes.c.scope, probes.c.status, probes.c.latency_ms)
        .where(probes.c.id.in_(latest))
        .order_by(probes.c.org_id, probes.c.name)
    )
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]
    except sa.exc.OperationalError:  # the store exists but no probe table yet
        return []
    finally:
        engine.dispose()


def _probe_counts(settings: Settings) -> list[tuple]:
    from aioa.mcp.store import probes

    engine = _mcp_engine(settings)
    if engine is None:
        return []
    query = (
        sa.select(probes.c.org_id, probes.c.name, probes.c.status, sa.func.count())
        .group_by(probes.c.org_id, probes.c.name, probes.c.status)
        .order_by(probes.c.org_id, probes.c.name, probes.c.status)
    )
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]
    except sa.exc.OperationalError:
        return []
    finally:
        engine.dispose()


def _notification_counts(settings: Settings) -> dict | None:
    if settings.database_url is None and not (settings.home / "identity.db").exists():
        return None  # no accounts store yet: a scrape does not create one
    from aioa.identity.store import session_scope
    from aioa.rules.models import NotificationRow, WebhookAttempt, WebhookDelivery

    ok = sa.case((WebhookAttempt.status_code.between(200, 299), "ok"), else_="failed")
    with session_scope(settings, write=False) as session:
        return {
            "notifications": session.execute(
                sa.select(NotificationRow.channel, NotificationRow.status, sa.func.count()).group_by(
                    NotificationRow.channel, NotificationRow.status
                )
            ).all(),
            "deliveries": session.execute(
                sa.select(WebhookDelivery.status, sa.func.count())
                .group_by(WebhookDelivery.status)
                .order_by(WebhookDelivery.status)
            ).all(),
            "attempts": session.execute(sa.select(ok, sa.func.count()).group_by(ok).order_by(ok)).all(),
        }
