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
from aioa.rules.models import RuleEvaluation, RuleRow
from aioa.rules.spec import Rule
from aioa.rules.store import StoredRule, list_rules
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
    """Every enabled rule of the org (None: of every org) against the current snapshot, each evaluation recorded.
    Rules that read the same data (same metric, grouping and days) share one query; the evaluations are stored in
    one transaction at the end."""
    from aioa.webhooks.delivery import process_due

    rules = list_rules(settings, org_id, enabled_only=True)
    cache: dict = {}
    records: list[tuple[RuleEvaluation, str, dict | None]] = []
    with snapshot_reader(settings) as (connection, version):
        results = [
            evaluate_rule(settings, stored, connection, version, source=source, cache=cache, records=records)
            for stored in rules
        ]
    _store(settings, records)
    process_due(settings, org_id=org_id)  # retries of earlier deliveries that are due now
    return results


def evaluate_rule(
    settings: Settings,
    stored: StoredRule,
    connection,
    snapshot: str | None,
    *,
    source: str,
    cache: dict | None = None,
    records: list | None = None,
) -> EvaluationResult:
    """One rule now: matches, incidents, actions; its evaluation is stored (or appended to `records` for the
    caller to store with the others)."""
    started = time.perf_counter()
    result = EvaluationResult(stored.name, stored.org_id, fired=False)
    state = dict(stored.state)
    context = triggers.Context(
        stored.org_id, connection, snapshot, clock.now(), state, cache={} if cache is None else cache, settings=settings
    )
    try:
        with _time_limit(settings, connection):
            found = triggers.find(stored.rule.trigger, context)
        matches = [match for day_matches in found.values() for match in day_matches]
        kept = passing(stored.rule, matches)
        result.matches = len(kept)
        outcomes = record_matches(settings, stored.id, stored.org_id, stored.rule, kept)
        result.incident_ids = list(dict.fromkeys(outcome.incident.id for outcome in outcomes if outcome.reason))
        result.fired = bool(result.incident_ids)
        for outcome in outcomes:
            result.actions += run_actions(settings, stored.id, stored.rule, outcome)
    except Exception as error:  # noqa: BLE001 - one broken rule is recorded and does not stop the others
        result.error = f"{type(error).__name__}: {error}"[:2000]
    row = RuleEvaluation(
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
    changed = state != stored.state and result.error is None  # a failed evaluation looks at the same data again
    record = (row, stored.id, state if changed else None)
    if records is None:
        _store(settings, [record])
    else:
        records.append(record)
    return result


def _store(settings: Settings, records: list[tuple[RuleEvaluation, str, dict | None]]) -> None:
    """The evaluations, and the rules' changed states, in one transaction."""
    if not records:
        return
    with session_scope(settings) as session:
        for row, rule_id, state in records:
            session.add(row)
            if state is not None:
                rule = session.get(RuleRow, rule_id)
                if rule is not None:
                    rule.state = state


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
        context = triggers.Context(org_id, connection, version, clock.now(), {}, settings=settings)
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
