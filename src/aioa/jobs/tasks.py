"""The jobs themselves: plain functions of (settings, keyword arguments) returning JSON-ready results, the same
whether a Celery worker or the calling process runs them. Each calls the module that owns the work."""

from __future__ import annotations

from collections.abc import Callable

from aioa.settings import Settings


def render_report(
    settings: Settings,
    *,
    org_id: str,
    template: str,
    output_format: str = "pdf",
    month: str | None = None,
    email: list[str] | None = None,
    endpoint_id: str | None = None,
    team_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict:
    """Render one org's report (its own rows only), email it when addresses are given and announce it to the org's
    webhook endpoint `endpoint_id` (looked up again here, within the org) as a signed `report.ready` event."""
    from aioa.reports.render.deliver import send_report
    from aioa.webhooks.endpoints import endpoint_row

    endpoint = endpoint_row(settings, org_id, endpoint_id) if endpoint_id else None
    return send_report(
        settings,
        org_id,
        template,
        output_format=output_format,
        email=email or [],
        endpoint=endpoint,
        month=month,
        team_id=team_id,
        idempotency_key=idempotency_key,
    ).to_dict()


def email(settings: Settings, *, to: list[str], subject: str, body: str) -> dict:
    """One email through the configured SMTP server; raises when it was not accepted."""
    from aioa.notify.channels import send_email

    send_email(settings, list(to), subject, body)
    return {"channel": "smtp:" + ",".join(to), "status": "sent"}


def notify(settings: Settings, *, url: str, title: str, body: str) -> dict:
    """One message to one Apprise channel; raises when it was not delivered (the caller records the failure)."""
    from aioa.notify.channels import redact, send_apprise

    send_apprise(url, title, body)
    return {"channel": redact(url), "status": "sent"}


def probe_mcp(settings: Settings, *, org_id: str, names: list[str] | None = None) -> dict:
    """One monitoring pass over the configured MCP servers, stored under the org: each server's result (as
    `aioa mcp status --json`) and the tool-list changes it found."""
    from aioa.mcp.monitor import monitor

    run = monitor(settings, org_id, names=names)
    return {
        "results": [result.public() for result in run.results],
        "changes": [change.public() for change in run.changes],
        "notes": run.notes,
    }


JOBS: dict[str, Callable[..., object]] = {
    "render_report": render_report,
    "notify": notify,
    "email": email,
    "probe_mcp": probe_mcp,
}
