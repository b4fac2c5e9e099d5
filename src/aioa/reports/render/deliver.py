"""Sending a report: rendered for one org (its own rows only), attached to an email through the configured SMTP
server and/or announced to a webhook endpoint of the org as a signed `report.ready` event carrying the report's
JSON. The rules action `send_report` (a schedule trigger makes it a scheduled report) calls this."""

from __future__ import annotations

from dataclasses import dataclass

from aioa.reports.render.names import MIME, ReportFormat
from aioa.settings import Settings

REPORT_EVENT = "report.ready"


@dataclass
class SentReport:
    file_name: str
    size: int
    start: str
    end: str
    emailed_to: list[str]
    deliveries: list[str]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def send_report(
    settings: Settings,
    org_id: str,
    template_name: str,
    *,
    output_format: ReportFormat | str = ReportFormat.pdf,
    email: list[str] = (),
    endpoint=None,  # aioa.rules.models.WebhookEndpoint of the org, or None
    month: str | None = None,
    team_id: str | None = None,
    idempotency_key: str | None = None,
) -> SentReport:
    from aioa.notify.channels import send_email
    from aioa.reports.render.build import build_report
    from aioa.reports.render.formats import file_name, render, to_dict
    from aioa.reports.render.store import find_template
    from aioa.rules.engine import snapshot_reader
    from aioa.warehouse.access import TenantScope

    output_format = ReportFormat(output_format)
    template = find_template(settings, template_name, org_id, team_id=team_id)
    with snapshot_reader(settings) as (connection, version):
        if connection is None:
            raise RuntimeError("no published snapshot yet: run the pipeline before sending reports")
        report = build_report(connection, TenantScope.for_orgs(org_id), template, month=month, snapshot=version)
    content, name = render(report, output_format), file_name(report, output_format)
    subject = f"{template.title}: {org_id}, {report.start} to {report.end}"
    if email:
        body = f"{subject}\n\nThe report is attached ({name}). It shows {org_id}'s data only."
        send_email(settings, list(email), subject, body, attachments=[(name, content, MIME[output_format])])
    deliveries = []
    if endpoint is not None:
        from aioa.webhooks.delivery import enqueue, process_due

        data = {"org_id": org_id, "file_name": name, "format": output_format.value, "report": to_dict(report)}
        key = idempotency_key or f"report:{template.name}:{report.start}:{report.end}:{report.generated_at.isoformat()}"
        deliveries = enqueue(
            settings, org_id=org_id, event_type=REPORT_EVENT, data=data, idempotency_key=key, endpoints=[endpoint]
        )
        process_due(settings, org_id=org_id)
    return SentReport(name, len(content), report.start.isoformat(), report.end.isoformat(), list(email), deliveries)


def run_send_report(settings: Settings, action, incident) -> dict:
    """The rules action `send_report` for an incident that opened (for a schedule trigger: each tick grouped by
    `tick`): the report of the incident's org, to the action's email addresses and webhook endpoint of that org,
    rendered and sent by the `render_report` job (aioa.jobs). A job that fails or cannot be sent raises; the
    rule records the action as failed with that reason."""
    from aioa.jobs.run import run_job
    from aioa.webhooks.endpoints import endpoint_by_url, endpoint_row

    endpoint = None
    if action.url or action.endpoint:
        endpoint = (
            endpoint_by_url(settings, incident.org_id, action.url)
            if action.url
            else endpoint_row(settings, incident.org_id, action.endpoint)
        )
        if endpoint is None:  # the rule's org only, checked again at run time
            raise LookupError(f"no webhook endpoint {action.url or action.endpoint} in org {incident.org_id}")
    sent = run_job(  # on a Celery worker when a broker is configured, here otherwise; the same result either way
        settings,
        "render_report",
        org_id=incident.org_id,
        template=action.template,
        output_format=action.format,
        email=list(action.email),
        endpoint_id=endpoint.id if endpoint is not None else None,
        idempotency_key=f"{incident.id}:report:{action.template}:{action.format}",
    )
    return {"action": action.type, "incident": incident.id, "status": "sent"} | sent
