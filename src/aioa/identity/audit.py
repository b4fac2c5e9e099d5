"""The audit trail: an append-only log where each entry carries the hash of the one before it.

hash = sha256(prev_hash + canonical JSON of the entry). Editing an entry breaks its own hash; deleting or
reordering one breaks the sequence or the next entry's `prev_hash`. `verify()` names the first entry that does not
fit. Removing entries from the end leaves a shorter valid chain: keep `last_hash` from `verify()` somewhere else
(a ticket, a log shipper) to detect that too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, text

from aioa.identity import clock
from aioa.identity.models import AuditEntry
from aioa.identity.principal import Principal
from aioa.identity.store import WRITE_LOCK, engine_for
from aioa.settings import Settings

GENESIS = "0" * 64
_APPEND_LOCK_ID = 0x41554454  # PostgreSQL advisory lock key ("AUDT") held while appending
_PAGE = 5000


@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    entries: int  # entries checked
    first_bad_seq: int | None = None
    problem: str | None = None
    last_hash: str | None = None  # head of the chain (anchor it outside the store to detect truncation)


def record(
    settings: Settings,
    *,
    actor: Principal | str,
    action: str,
    org_id: str | None = None,
    target: str | None = None,
    detail: dict | None = None,
) -> None:
    """Append one entry now. Appends are serialized (SQLite write lock, PostgreSQL advisory lock), so concurrent
    writers never fork the chain. Call it outside any open write transaction on the same SQLite store."""
    append_entries(settings, [new_entry(actor=actor, action=action, org_id=org_id, target=target, detail=detail)])


def new_entry(
    *,
    actor: Principal | str,
    action: str,
    org_id: str | None = None,
    target: str | None = None,
    detail: dict | None = None,
) -> dict:
    """An entry's fields, timed now; `append_entries` gives it its place (seq) and hash in the chain."""
    if isinstance(actor, Principal):
        org_id = org_id if org_id is not None else actor.org_id
        actor = actor_name(actor)
    return {
        "at": clock.now(),
        "actor": actor,
        "org_id": org_id,
        "action": action,
        "target": target,
        "detail": canonical_json(detail or {}),
    }


def append_entries(settings: Settings, entries: list[dict]) -> None:
    """Append entries (from `new_entry`) in their order, in one transaction: the chain's tail is read once under
    the append lock and each entry links to the one before it. All or none are written."""
    if not entries:
        return
    engine = engine_for(settings)
    with engine.connect().execution_options(**{WRITE_LOCK: True}) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_ID})
        tail = connection.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))
        last = tail.first()
        seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
        rows = []
        for fields in entries:
            entry = {"seq": seq, **fields}
            entry_hash_ = entry_hash(prev_hash, entry)
            rows.append({**entry, "prev_hash": prev_hash, "hash": entry_hash_})
            seq, prev_hash = seq + 1, entry_hash_
        connection.execute(insert(AuditEntry), rows)


def verify(settings: Settings) -> AuditVerdict:
    """Walk the whole chain; the first entry whose sequence, link or hash is wrong fails it."""
    _flush_writers(settings)
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for row in _rows(settings):
        if row.seq != expected_seq:
            problem = (
                f"entry {expected_seq} is missing" if row.seq > expected_seq else f"entry {row.seq} is out of order"
            )
            return AuditVerdict(False, checked, expected_seq, problem)
        if row.prev_hash != prev_hash:
            return AuditVerdict(False, checked, row.seq, f"entry {row.seq} does not follow entry {row.seq - 1}")
        if entry_hash(prev_hash, _entry_of(row)) != row.hash:
            return AuditVerdict(False, checked, row.seq, f"entry {row.seq} was altered (its hash does not match)")
        checked += 1
        expected_seq, prev_hash = row.seq + 1, row.hash
    return AuditVerdict(True, checked, last_hash=None if checked == 0 else prev_hash)


def export(settings: Settings, *, org_id: str | None = None) -> list[dict]:
    """Entries in order as plain dicts (`detail` parsed, `at` ISO-8601 UTC); only one org's when `org_id` is given."""
    _flush_writers(settings)
    return [
        {
            "seq": row.seq,
            "at": _utc_text(row.at),
            "actor": row.actor,
            "org_id": row.org_id,
            "action": row.action,
            "target": row.target,
            "detail": json.loads(row.detail),
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
        for row in _rows(settings, org_id=org_id)
    ]


def _flush_writers(settings: Settings) -> None:
    """Entries this process queued (the API's background writer) are written before the chain is read."""
    from aioa.identity.audit_writer import flush_writers

    flush_writers(settings.identity_url)


def actor_name(principal: Principal) -> str:
    if principal.is_operator:
        return "operator"
    name = f"{principal.kind}:{principal.subject}"
    return f"{name} <{principal.email}>" if principal.email else name


def canonical_json(value) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept (what the hash covers)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, entry: dict) -> str:
    fields = {
        "seq": entry["seq"],
        "at": _utc_text(entry["at"]),
        "actor": entry["actor"],
        "org_id": entry["org_id"],
        "action": entry["action"],
        "target": entry["target"],
        "detail": entry["detail"],
    }
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def _entry_of(row) -> dict:
    return {name: getattr(row, name) for name in ("seq", "at", "actor", "org_id", "action", "target", "detail")}


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rows(settings: Settings, *, org_id: str | None = None):
    """Entries in seq order, a page at a time (the log grows without bound)."""
    engine = engine_for(settings)
    after = 0
    while True:
        query = select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(_PAGE)
        if org_id is not None:
            query = query.where(AuditEntry.org_id == org_id)
        with engine.connect() as connection:
            page = connection.execute(query).all()
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].seq
