"""Evaluating rules: now (every enabled rule, or one; recorded, incidents and actions) and as a backtest (over the
last N days of data, sending nothing). The CLI, the Dagster sensor and schedule, and the tests call these."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from aioa.identity import clock
from aioa.identity.store import session_scope
from aioa.rules import triggers
from aioa.rules.actions import run_actions
from aioa.rules.incidents import group_key, group_of, passing, record_matches
from aioa.rules.models import RuleEvaluation
from aioa.rules.spec import Rule
from aioa.rules.store import StoredRule, list_rules, save_state
from aioa.settings import Settings


@dataclass
class EvaluationResult:
    rule: str
    org_id: str
    fired: bool
    matches: int = 0
    incident_ids: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@contextmanager
def snapshot_reader(settings: Settings):
    """(connection, version) of the current snapshot, or (None, None) before the first one."""
    from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

    try:
        connection, version = open_snapshot(settings)
    except NoSnapshotError:
        yield None, None
        return
    with connection:
        yield connection, version


@contextmanager
def _time_limit(settings: Settings, connection):
    """Each rule's reads get the readers' statement timeout (a slow rule cannot hold the others)."""
    if connection is None:
        yield
        return
    from aioa.warehouse.connection import statement_timeout

    with statement_timeout(connection, settings.reader_statement_timeout_s):
        yield


def evaluate_all(settings: Settings, org_id: str | None = None, *, source: str = "cli") -> list[EvaluationResult]:
    """Every enabled rule of the org (None: of every org) against the current snapshot, each evaluation recorded."""
    from aioa.webhooks.delivery import process_due

    rules = list_rules(settings, org_id, enabled_only=True)
    last_days: dict[str, date | None] = {}  # per org: read once, not once per rule
    with snapshot_reader(settings) as (connection, version):
        results = [
            evaluate_rule(settings, stored, connection, version, source=source, last_days=last_days) for stored in rules
        ]
    process_due(settings, org_id=org_id)  # retries of earlier deliveries that are due now
    return results


def evaluate_rule(
    settings: Settings,
    stored: StoredRule,
    connection,
    snapshot: str | None,
    *,
    source: str,
    last_days: dict[str, date | None] | None = None,
) -> EvaluationResult:
    started = time.perf_counter()
    result = EvaluationResult(stored.name, stored.org_id, fired=False)
    state = dict(stored.state)
    last_days = {} if last_days is None else last_days
    context = triggers.Context(stored.org_id, connection, snapshot, clock.now(), state, last_days.get(stored.org_id))
    try:
        with _time_limit(settings, connection):
            found = triggers.find(stored.rule.trigger, context)
        last_days[stored.org_id] = context.last_day
        matches = [match for day_matches in found.values() for match in day_matches]
        kept = passing(stored.rule, matches)
        result.matches = len(kept)
        outcomes = record_matches(settings, stored.id, stored.org_id, stored.rule, kept)
        result.incident_ids = list(dict.fromkeys(outcome.incident.id for outcome in outcomes if outcome.reason))
        result.fired = bool(result.incident_ids)
        for outcome in outcomes:
            result.actions += run_actions(settings, stored.id, stored.rule, outcome)
        save_state(settings, stored.id, state)
    except Exception as error:  # noqa: BLE001 - one broken rule is recorded and does not stop the others
        result.error = f"{type(error).__name__}: {error}"[:2000]
    with session_scope(settings) as session:
        session.add(
            RuleEvaluation(
                rule_id=stored.id,
                org_id=stored.org_id,
                at=context.now,
                source=source,
                matches=result.matches,
                fired=result.fired,
                incident_ids=result.incident_ids,
                actions=result.actions,
                error=result.error,
                seconds=time.perf_counter() - started,
            )
        )
    return result


def backtest(settings: Settings, org_id: str, rule: Rule, days: int) -> list[dict]:
    """The days among the data's last `days` on which the rule would have fired, with the incidents (one per group)
    it would have opened; nothing is stored or sent."""
    with snapshot_reader(settings) as (connection, version):
        if connection is None:
            return []
        from aioa.rules.queries import last_day

        last = last_day(connection, triggers.Context(org_id, connection, version, clock.now()).scope)
        if last is None:
            return []
        judged = [last - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
        context = triggers.Context(org_id, connection, version, clock.now(), {})
        found = triggers.find(rule.trigger, context, judged)
    fired = []
    for day in judged:
        kept = passing(rule, found.get(day, []))
        if not kept:
            continue
        groups: dict[str, dict] = {}
        for match in kept:
            group = group_of(rule, match)
            entry = groups.setdefault(group_key(group), {"group": group, "matches": 0, "facts": match.facts})
            entry["matches"] += 1
        fired.append({"day": _iso(day), "incidents": [_plain(entry) for entry in groups.values()]})
    return fired


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _plain(entry: dict) -> dict:
    facts = {name: _iso(value) if isinstance(value, date) else value for name, value in entry["facts"].items()}
    return {**entry, "facts": facts}
