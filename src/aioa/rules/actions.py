"""What a rule does for an incident that speaks: notify, send a signed webhook, pause an API key, ask for a router
threshold or a retraining, open an issue in GitHub, Jira or Linear. Notifications go on every message (opened,
repeat, escalation); the other actions only when the incident opens. Each action's result is returned for the
evaluation record; a failing action does not stop the others."""

from __future__ import annotations

import secrets

from aioa.identity import clock
from aioa.identity.store import session_scope
from aioa.jobs.run import run_job
from aioa.notify.channels import redact
from aioa.notify.message import compose
from aioa.rules.incidents import Outcome, incident_data
from aioa.rules.models import AutomationRequest, NotificationRow
from aioa.rules.spec import Rule
from aioa.settings import Settings

EVENT_FOR_REASON = {"opened": "incident.opened", "repeat": "incident.repeated", "escalation": "incident.escalated"}


def run_actions(settings: Settings, rule_id: str, rule: Rule, outcome: Outcome) -> list[dict]:
    incident, reason = outcome.incident, outcome.reason
    if reason is None or outcome.suppressed:
        return []
    results = []
    for action in rule.actions:
        try:
            if action.type == "notify":
                results += _notify(settings, rule, action, outcome)
            elif action.type == "webhook":
                results.append(_webhook(settings, action, outcome))
            elif action.type == "open_issue" and reason == "opened":  # one issue per incident
                from aioa.integrations.issue_actions import open_issue

                message = compose(settings, incident, rule, reason=reason)
                results.append({"incident": incident.id, **open_issue(action, message.title, message.body)})
            elif reason == "opened":
                results.append(_act_once(settings, rule_id, action, incident))
        except Exception as error:  # noqa: BLE001 - one failing action is recorded, the others still run
            results.append({"action": action.type, "incident": incident.id, "status": "failed", "error": str(error)})
    return results


def _notify(settings: Settings, rule: Rule, action, outcome: Outcome) -> list[dict]:
    incident, reason = outcome.incident, outcome.reason
    message = compose(settings, incident, rule, reason=reason)
    targets = [*action.channels, *action.email]
    if reason == "escalation":
        targets = list(action.escalate_to) or targets
    emails = [target for target in targets if "://" not in target]
    results = []
    for channel in [target for target in targets if "://" in target]:
        results.append(
            _send(
                settings,
                incident,
                reason,
                redact(channel),
                lambda c=channel: run_job(
                    settings, "notify", url=c, title=message.title, body=message.body
                ),  # a worker's, with a broker
            )
        )
    if emails:
        results.append(
            _send(
                settings,
                incident,
                reason,
                "smtp:" + ",".join(emails),
                lambda: run_job(settings, "email", to=emails, subject=message.title, body=message.body),
            )
        )
    return results


def _send(settings: Settings, incident, reason: str, channel: str, send) -> dict:
    error = None
    try:
        send()
    except Exception as failure:  # noqa: BLE001 - recorded per channel
        error = f"{type(failure).__name__}: {failure}"[:500]
    with session_scope(settings) as session:
        session.add(
            NotificationRow(
                incident_id=incident.id,
                org_id=incident.org_id,
                at=clock.now(),
                reason=reason,
                channel=channel,
                status="failed" if error else "sent",
                error=error,
            )
        )
    return {
        "action": "notify",
        "incident": incident.id,
        "channel": channel,
        "status": "failed" if error else "sent",
        "error": error,
    }


def _webhook(settings: Settings, action, outcome: Outcome) -> dict:
    from aioa.webhooks.delivery import enqueue, process_due
    from aioa.webhooks.endpoints import endpoint_by_url, endpoint_row

    incident = outcome.incident
    endpoint = (
        endpoint_by_url(settings, incident.org_id, action.url)
        if action.url
        else endpoint_row(settings, incident.org_id, action.endpoint)
    )
    if endpoint is None:
        raise LookupError(f"the webhook endpoint {action.url} was removed from org {incident.org_id}")
    event = EVENT_FOR_REASON[outcome.reason]
    key = f"{incident.id}:{event}:{(incident.notified_at or clock.now()).isoformat()}"
    ids = enqueue(
        settings,
        org_id=incident.org_id,
        event_type=event,
        data=incident_data(incident),
        idempotency_key=key,
        endpoints=[endpoint],
    )
    delivered = process_due(settings, org_id=incident.org_id)  # first attempt now; retries on the next ticks
    status = {info.id: info.status for info in delivered}
    return {
        "action": "webhook",
        "incident": incident.id,
        "deliveries": ids,
        "status": [status.get(i, "pending") for i in ids],
    }


def _act_once(settings: Settings, rule_id: str, action, incident) -> dict:
    if action.type == "send_report":
        from aioa.reports.render.deliver import run_send_report

        return run_send_report(settings, action, incident)
    if action.type == "pause_api_key":
        from aioa.identity.api_keys import revoke_key

        with session_scope(settings, write=False) as session:
            from aioa.identity.models import ApiKey

            key = session.get(ApiKey, action.key_id)
        if key is None or key.org_id != incident.org_id:  # the rule's org only, checked again at run time
            raise LookupError(f"no API key {action.key_id} in org {incident.org_id}")
        revoke_key(settings, action.key_id, actor=f"rule {incident.rule_name} ({incident.id})")
        return {"action": action.type, "incident": incident.id, "status": "done", "key_id": action.key_id}
    parameters = action.model_dump(exclude={"type"}, exclude_none=True)  # the tuner's aim and guard rails
    request = AutomationRequest(
        id="req_" + secrets.token_hex(8),
        org_id=incident.org_id,
        kind=action.type,
        parameters=parameters,
        rule_id=rule_id,
        incident_id=incident.id,
        status="pending",
        created_at=clock.now(),
    )
    with session_scope(settings) as session:
        session.add(request)
    return {"action": action.type, "incident": incident.id, "status": "requested", "request": request.id}
