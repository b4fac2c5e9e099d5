"""From matches to incidents: one incident per rule and group key until it is resolved, whatever the number of
matching rows; each finding (fingerprint) counted once, ever; and the decision of whom to tell and when
(opened, repeat, escalation), respecting acknowledgement, silences and the cool-down."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from aioa.identity import audit, clock
from aioa.identity.principal import Principal, local_operator
from aioa.identity.store import session_scope
from aioa.rules import conditions
from aioa.rules.models import Incident, NotificationRow, SeenEvent, Silence
from aioa.rules.spec import Rule, parse_duration
from aioa.rules.triggers import Match, default_group
from aioa.settings import Settings

OPEN_STATES = ("open", "acknowledged")


@dataclass(frozen=True)
class Outcome:
    """An incident this evaluation touched, and the message it should send now (None: stays quiet)."""

    incident: Incident
    reason: str | None  # opened, repeat, escalation
    suppressed: str | None = None  # silenced, cooldown


def passing(rule: Rule, matches: list[Match]) -> list[Match]:
    """The matches the condition holds for. A match it cannot judge (a fact is null, e.g. a ratio without an
    expected value) does not pass: CEL has no comparison with null, and a missing number is no evidence."""
    kept = []
    for match in matches:
        try:
            if conditions.evaluate(rule.condition, match.facts):
                kept.append(match)
        except conditions.ConditionError:
            continue
    return kept


def group_of(rule: Rule, match: Match) -> dict:
    fields = rule.group_by if rule.group_by is not None else default_group(rule.trigger)
    return {name: _plain(match.facts.get(name)) for name in fields}


def group_key(group: dict) -> str:
    return "|".join(f"{name}={value}" for name, value in group.items()) or "(all)"


def record_matches(settings: Settings, rule_id: str, org_id: str, rule: Rule, matches: list[Match]) -> list[Outcome]:
    """Fold matches (already past the condition) into incidents; decide the messages. One transaction."""
    now = clock.now()
    if not matches and not _has_open(settings, rule_id):
        return []  # nothing found and nothing open that could be due a repeat or an escalation: no write
    groups: dict[str, tuple[dict, list[Match]]] = {}
    for match in matches:
        group = group_of(rule, match)
        groups.setdefault(group_key(group), (group, []))[1].append(match)
    outcomes = []
    with session_scope(settings) as session:
        seen = (
            set(
                session.scalars(
                    select(SeenEvent.fingerprint).where(
                        SeenEvent.rule_id == rule_id, SeenEvent.fingerprint.in_([m.fingerprint for m in matches])
                    )
                )
            )
            if matches
            else set()
        )
        touched = set()
        for key, (group, members) in groups.items():
            fresh = {match.fingerprint: match for match in members if match.fingerprint not in seen}
            incident = session.scalars(
                select(Incident).where(
                    Incident.rule_id == rule_id, Incident.group_key == key, Incident.status.in_(OPEN_STATES)
                )
            ).first()
            if not fresh:
                continue  # nothing new: an open incident keeps its count, a resolved one stays resolved
            biggest = max(fresh.values(), key=_size).facts
            opened = incident is None
            if opened:
                incident = Incident(
                    id="inc_" + secrets.token_hex(8),
                    org_id=org_id,
                    rule_id=rule_id,
                    rule_name=rule.name,
                    group_key=key,
                    group=group,
                    status="open",
                    severity=rule.severity,
                    matches=0,
                    summary=_jsonable(biggest),
                    opened_at=now,
                    last_seen_at=now,
                )
                session.add(incident)
            elif _size_of(biggest) > _size_of(incident.summary):
                incident.summary = _jsonable(biggest)
            incident.matches += len(fresh)
            incident.last_seen_at = now
            for fingerprint in fresh:
                session.add(
                    SeenEvent(rule_id=rule_id, fingerprint=fingerprint, incident_id=incident.id, first_seen_at=now)
                )
            touched.add(incident.id)
            outcomes.append(_decide(session, incident, rule, "opened" if opened else None, now))
        # open incidents this evaluation did not touch may still be due a repeat or an escalation
        for incident in session.scalars(select(Incident).where(Incident.rule_id == rule_id, Incident.status == "open")):
            if incident.id not in touched:
                outcomes.append(_decide(session, incident, rule, None, now))
        for outcome in outcomes:
            if outcome.reason and outcome.suppressed is None:
                if outcome.reason == "escalation":
                    outcome.incident.escalated_at = now
                outcome.incident.notified_at = now
            if outcome.reason and outcome.suppressed:  # sent messages are recorded per channel by the actions
                session.add(
                    NotificationRow(
                        incident_id=outcome.incident.id,
                        org_id=org_id,
                        at=now,
                        reason=outcome.reason,
                        channel="(all)",
                        status=outcome.suppressed,
                        error=None,
                    )
                )
    return outcomes


def _has_open(settings: Settings, rule_id: str) -> bool:
    with session_scope(settings, write=False) as session:
        query = select(Incident.id).where(Incident.rule_id == rule_id, Incident.status == "open").limit(1)
        return session.scalars(query).first() is not None


def _decide(session, incident: Incident, rule: Rule, reason: str | None, now: datetime) -> Outcome:
    policy = rule.notify
    if incident.status != "open":
        return Outcome(incident, None)
    if reason is None:
        escalate = parse_duration(policy.escalate_after)
        repeat = parse_duration(policy.repeat_every)
        if escalate and incident.escalated_at is None and incident.opened_at + escalate <= now:
            reason = "escalation"
        elif repeat and incident.notified_at and incident.notified_at + repeat <= now:
            reason = "repeat"
        else:
            return Outcome(incident, None)
    if _silenced(session, incident, now):
        return Outcome(incident, reason, "silenced")
    if reason == "opened" and _in_cooldown(session, incident, parse_duration(policy.cooldown), now):
        return Outcome(incident, reason, "cooldown")
    return Outcome(incident, reason)


def _silenced(session, incident: Incident, now: datetime) -> bool:
    silences = session.scalars(
        select(Silence).where(Silence.org_id == incident.org_id, Silence.starts_at <= now, Silence.ends_at > now)
    )
    return any(
        (silence.rule_name in (None, incident.rule_name))
        and all(str(incident.group.get(name)) == str(value) for name, value in (silence.matchers or {}).items())
        for silence in silences
    )


def _in_cooldown(session, incident: Incident, cooldown: timedelta | None, now: datetime) -> bool:
    """Another incident of the same rule and group spoke within the cool-down (a flapping condition)."""
    if not cooldown:
        return False
    recent = session.scalars(
        select(Incident.id).where(
            Incident.rule_id == incident.rule_id,
            Incident.group_key == incident.group_key,
            Incident.id != incident.id,
            Incident.notified_at > now - cooldown,
        )
    ).first()
    return recent is not None


# --- people acting on incidents -------------------------------------------------------------------------------------


def acknowledge(settings: Settings, org_id: str, incident_id: str, *, actor: Principal | str | None = None) -> Incident:
    return _transition(settings, org_id, incident_id, "acknowledged", actor)


def resolve(settings: Settings, org_id: str, incident_id: str, *, actor: Principal | str | None = None) -> Incident:
    return _transition(settings, org_id, incident_id, "resolved", actor)


def act_by_token(settings: Settings, token: str) -> Incident:
    """The signed link's action (acknowledge or resolve) on its incident; jwt errors for a bad or expired link."""
    from aioa.notify.links import read_token

    incident_id, org_id, action = read_token(settings, token)
    change = acknowledge if action == "acknowledge" else resolve
    return change(settings, org_id, incident_id, actor=f"signed link ({action})")


def _transition(settings: Settings, org_id: str, incident_id: str, status: str, actor) -> Incident:
    now = clock.now()
    name = actor if isinstance(actor, str) else audit.actor_name(actor or local_operator())
    with session_scope(settings) as session:
        incident = session.get(Incident, incident_id)
        if incident is None or incident.org_id != org_id:
            raise LookupError(f"no incident {incident_id} in org {org_id}")
        if incident.status == "resolved" or incident.status == status:
            return incident
        incident.status = status
        if status == "acknowledged":
            incident.acknowledged_at, incident.acknowledged_by = now, name
        else:
            incident.resolved_at, incident.resolved_by = now, name
    audit.record(settings, actor=name, action=f"incident.{status}", org_id=org_id, target=incident_id)
    from aioa.webhooks.delivery import enqueue, process_due

    event = "incident.acknowledged" if status == "acknowledged" else "incident.resolved"
    enqueue(
        settings,
        org_id=org_id,
        event_type=event,
        data=incident_data(incident),
        idempotency_key=f"{incident_id}:{event}",
    )
    process_due(settings, org_id=org_id)  # the first attempt now; retries with the next evaluations
    return incident


def list_incidents(settings: Settings, org_id: str, *, status: str | None = None) -> list[Incident]:
    with session_scope(settings, write=False) as session:
        query = select(Incident).where(Incident.org_id == org_id)
        if status:
            query = query.where(Incident.status == status)
        return list(session.scalars(query.order_by(Incident.opened_at.desc())))


def add_silence(
    settings: Settings,
    org_id: str,
    *,
    duration: timedelta,
    rule_name: str | None = None,
    matchers: dict | None = None,
    reason: str | None = None,
    actor: Principal | None = None,
) -> Silence:
    now = clock.now()
    row = Silence(
        id="sil_" + secrets.token_hex(8),
        org_id=org_id,
        rule_name=rule_name,
        matchers=dict(matchers or {}),
        starts_at=now,
        ends_at=now + duration,
        reason=reason,
        created_by=audit.actor_name(actor or local_operator()),
    )
    with session_scope(settings) as session:
        session.add(row)
    audit.record(settings, actor=actor or local_operator(), action="silence.add", org_id=org_id, target=row.id)
    return row


def notifications(settings: Settings, org_id: str, incident_id: str | None = None) -> list[NotificationRow]:
    with session_scope(settings, write=False) as session:
        query = select(NotificationRow).where(NotificationRow.org_id == org_id)
        if incident_id:
            query = query.where(NotificationRow.incident_id == incident_id)
        return list(session.scalars(query.order_by(NotificationRow.id)))


def incident_data(incident: Incident) -> dict:
    """The incident as a webhook payload."""
    return {
        "id": incident.id,
        "org_id": incident.org_id,
        "rule": incident.rule_name,
        "status": incident.status,
        "severity": incident.severity,
        "group": incident.group,
        "matches": incident.matches,
        "summary": incident.summary,
        "opened_at": incident.opened_at.isoformat(),
    }


def _size(match: Match) -> float:
    return _size_of(match.facts)


def _size_of(facts: dict) -> float:
    for name in ("ratio", "share_of_budget", "rate", "value", "observed"):
        value = facts.get(name)
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _jsonable(facts: dict) -> dict:
    return {name: _plain(value) if not isinstance(value, dict) else value for name, value in facts.items()}
