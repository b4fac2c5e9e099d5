"""Rules per tenant in the identity store: save (validated, with the org of the caller), list, enable, disable."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from aioa.identity import audit, clock
from aioa.identity.models import ApiKey
from aioa.identity.principal import Principal, local_operator
from aioa.identity.store import session_scope
from aioa.rules.models import RuleRow
from aioa.rules.spec import Rule, RuleError, parse_rule
from aioa.settings import Settings


@dataclass(frozen=True)
class StoredRule:
    id: str
    org_id: str
    name: str
    enabled: bool
    rule: Rule
    state: dict
    updated_at: datetime

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "name": self.name,
            "enabled": self.enabled,
            "trigger": self.rule.trigger.kind,
            "actions": [action.type for action in self.rule.actions],
            "updated_at": self.updated_at.isoformat(),
        }


def save_rule(settings: Settings, org_id: str, rule: Rule | dict, *, actor: Principal | None = None) -> StoredRule:
    """Create or replace the org's rule of that name. The org is the caller's; what the rule refers to (webhook
    endpoints, API keys) must belong to that org too."""
    rule = rule if isinstance(rule, Rule) else parse_rule(rule)
    _check_references(settings, org_id, rule)
    now = clock.now()
    document = rule.model_dump(mode="json", exclude_none=True)
    with session_scope(settings) as session:
        row = session.scalars(select(RuleRow).where(RuleRow.org_id == org_id, RuleRow.name == rule.name)).first()
        if row is None:
            row = RuleRow(id="rule_" + secrets.token_hex(8), org_id=org_id, name=rule.name, state={}, created_at=now)
            session.add(row)
        row.document, row.enabled, row.updated_at = document, rule.enabled, now
        row.updated_by = audit.actor_name(actor) if actor else "operator"
    audit.record(
        settings,
        actor=actor or local_operator(),
        action="rule.save",
        org_id=org_id,
        target=row.id,
        detail={"name": rule.name, "trigger": rule.trigger.kind, "actions": [action.type for action in rule.actions]},
    )
    return _stored(row)


def list_rules(settings: Settings, org_id: str | None, *, enabled_only: bool = False) -> list[StoredRule]:
    """The org's rules (None: every org's, for the operator's scheduler)."""
    with session_scope(settings, write=False) as session:
        query = select(RuleRow).order_by(RuleRow.org_id, RuleRow.name)
        if org_id is not None:
            query = query.where(RuleRow.org_id == org_id)
        if enabled_only:
            query = query.where(RuleRow.enabled.is_(True))
        return [_stored(row) for row in session.scalars(query)]


def get_rule(settings: Settings, org_id: str, name: str) -> StoredRule:
    with session_scope(settings, write=False) as session:
        row = session.scalars(select(RuleRow).where(RuleRow.org_id == org_id, RuleRow.name == name)).first()
        if row is None:
            raise LookupError(f"no rule named {name!r} in org {org_id} (see `aioa rules list`)")
        return _stored(row)


def set_enabled(settings: Settings, org_id: str, name: str, enabled: bool, *, actor: Principal | None = None):
    with session_scope(settings) as session:
        row = session.scalars(select(RuleRow).where(RuleRow.org_id == org_id, RuleRow.name == name)).first()
        if row is None:
            raise LookupError(f"no rule named {name!r} in org {org_id} (see `aioa rules list`)")
        row.enabled = enabled
        row.document = {**row.document, "enabled": enabled}
        row.updated_at = clock.now()
    audit.record(
        settings,
        actor=actor or local_operator(),
        action="rule.enable" if enabled else "rule.disable",
        org_id=org_id,
        target=row.id,
        detail={"name": name},
    )
    return _stored(row)


def _check_references(settings: Settings, org_id: str, rule: Rule) -> None:
    from aioa.webhooks.endpoints import endpoint_by_url, endpoint_row

    problems = []
    for index, action in enumerate(rule.actions):
        if action.type == "webhook":
            if action.url is not None and endpoint_by_url(settings, org_id, action.url) is None:
                problems.append(
                    f"actions[{index}]: no webhook endpoint for {action.url} in org {org_id}: register it first with "
                    f"`aioa webhooks add {action.url} --secret whsec_... --events incident.opened --org {org_id}`"
                )
            if action.endpoint is not None:
                try:
                    endpoint_row(settings, org_id, action.endpoint)
                except LookupError as error:
                    problems.append(f"actions[{index}]: {error}")
        if action.type == "pause_api_key":
            with session_scope(settings, write=False) as session:
                key = session.get(ApiKey, action.key_id)
            if key is None or key.org_id != org_id:
                problems.append(f"actions[{index}]: no API key {action.key_id} in org {org_id} (see `aioa keys list`)")
    if problems:
        raise RuleError(problems)


def _stored(row: RuleRow) -> StoredRule:
    return StoredRule(
        row.id, row.org_id, row.name, row.enabled, Rule.model_validate(row.document), row.state or {}, row.updated_at
    )
