"""The per-org inbox of events posted to the API: `<AIOA_HOME>/inbox/<org_id>/<source>/`, one file per accepted
batch, which the pipeline's readers ingest (`aioa.ingest.registry` adds these folders to each source's paths and the
attribution binds each `<org_id>` folder to its org, so a row's org is where the API wrote it).

A batch is validated whole before anything is written: one bad event refuses the batch (HTTP 422) and the batch is
kept in `<org_id>/quarantine/` with the reasons. A good batch is written to a temporary file and renamed into place
(readers never see half a batch), and its ids are recorded in `<org_id>/accepted-ids.sqlite`: posting the same ids
again writes nothing. If the process dies between the rename and the id record, a re-post writes the batch again;
the warehouse still stores each event once (its merge is keyed on the same id).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from aioa.atomic_files import write_text_atomically
from aioa.settings import Settings

# Inbox folder of each ingest kind = the registry source whose reader loads it.
SOURCE_FOLDERS = {"handoffs": "handoffs", "events": "otel"}
_SAFE_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


class InboxError(ValueError):
    """The batch cannot be taken (the org id cannot name a folder)."""


@dataclass
class Problem:
    index: int | None
    field: str | None
    message: str


@dataclass
class Validated:
    events: list[dict] = field(default_factory=list)  # as sent, known fields only
    ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def inbox_root(settings: Settings) -> Path:
    return settings.home / "inbox"


def org_folder(settings: Settings, org_id: str) -> Path:
    if not _SAFE_ORG.match(org_id) or ".." in org_id:
        raise InboxError(f"org id {org_id!r} cannot name an inbox folder")
    return inbox_root(settings) / org_id


def parse_body(body: bytes, content_type: str) -> tuple[list | None, Problem | None]:
    """A JSON list of events, or NDJSON (one event per line) when the content type says so."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, Problem(None, None, "the body is not UTF-8")
    if "ndjson" in content_type or "jsonlines" in content_type:
        events = []
        for number, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except ValueError as error:
                return None, Problem(len(events), None, f"line {number + 1} is not JSON: {error}")
        return events, None
    try:
        events = json.loads(text)
    except ValueError as error:
        return None, Problem(None, None, f"the body is not JSON: {error}")
    if not isinstance(events, list):
        return None, Problem(None, None, "the body must be a JSON list of events (or NDJSON)")
    return events, None


def validate(events: list, model: type[BaseModel], id_field: str, org_id: str) -> Validated:
    """Every event against the contract; an `org_id` other than the principal's org is refused (never rewritten)."""
    result = Validated()
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            result.problems.append(Problem(index, None, "an event must be a JSON object"))
            continue
        try:
            model.model_validate(event)
        except ValidationError as error:
            for item in error.errors():
                result.problems.append(Problem(index, ".".join(str(part) for part in item["loc"]) or None, item["msg"]))
            continue
        if event.get("org_id") is not None and event["org_id"] != org_id:
            result.problems.append(
                Problem(index, "org_id", f"names org {event['org_id']!r}; this credential writes to {org_id!r} only")
            )
            continue
        event_id = event[id_field]
        if event_id in seen:
            result.problems.append(Problem(index, id_field, f"repeats the id of event {seen[event_id]}"))
            continue
        seen[event_id] = index
        result.events.append(event)
        result.ids.append(event_id)
    return result


def quarantine_batch(settings: Settings, org_id: str, kind: str, body: bytes, problems: list[Problem], actor: str):
    """Keep a refused batch, whole, with its reasons (`<org>/quarantine/<time>-<kind>-<id>.json`)."""
    folder = org_folder(settings, org_id) / "quarantine"
    document = {
        "received_at": datetime.now(UTC).isoformat(),
        "kind": kind,
        "org_id": org_id,
        "actor": actor,
        "reason": f"{len(problems)} problem(s); first: {_describe(problems[0])}",
        "problems": [problem.__dict__ for problem in problems],
        "body": body.decode("utf-8", errors="replace"),
    }
    return write_atomically(folder, f"{stamp()}-{kind}-{uuid.uuid4().hex[:8]}.json", json.dumps(document))


EXCERPT_CHARS = 500


def refused_batches(settings: Settings, org_ids: tuple[str, ...] | None, limit: int) -> list[dict]:
    """The batches the API refused for these orgs (None: every org), newest first, as quarantine rows (the columns
    of `raw.quarantine`): the org is the folder's, which only that org's credentials write to."""
    root = inbox_root(settings)
    folders = (
        [root / org for org in org_ids]
        if org_ids is not None
        else sorted(path for path in root.iterdir() if path.is_dir())
        if root.is_dir()
        else []
    )
    files = [path for folder in folders for path in (folder / "quarantine").glob("*.json")]
    rows = []
    for path in sorted(files, key=lambda path: path.name, reverse=True)[:limit]:  # names start with the time
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being written (atomic rename) or damaged: not a refusal to show
        rows.append(
            {
                "org_id": path.parent.parent.name,
                "severity": "rejected",
                "reason": f"API batch refused: {document.get('reason', '')}",
                "source_system": f"api:{document.get('kind', '')}",
                "source_file": str(path),
                "source_line": None,
                "raw_excerpt": str(document.get("body", ""))[:EXCERPT_CHARS],
                "detected_at": datetime.fromisoformat(document["received_at"]).replace(tzinfo=None),
            }
        )
    return rows


@dataclass
class Accepted:
    accepted: int
    duplicates: list[str]
    file: Path | None


class QuotaRefused(RuntimeError):
    def __init__(self, retry_after_s: float | None) -> None:
        super().__init__("ingest quota exceeded")
        self.retry_after_s = retry_after_s


def accept(
    settings: Settings,
    org_id: str,
    kind: str,
    validated: Validated,
    *,
    take_quota: Callable[[int], float | None] | None = None,
) -> Accepted:
    """Write the events not accepted before to a new inbox file, atomically, and record their ids.

    `take_quota(rows)` returns None when the rows may be taken, else the seconds to wait (raises QuotaRefused)."""
    folder = org_folder(settings, org_id)
    folder.mkdir(parents=True, exist_ok=True)
    index = sqlite3.connect(folder / "accepted-ids.sqlite", timeout=30, isolation_level=None)
    try:
        index.execute(
            "create table if not exists accepted (kind text, event_id text, file text, accepted_at text,"
            " primary key (kind, event_id))"
        )
        index.execute("begin immediate")  # one writer per org at a time: no two posts accept the same id
        try:
            known = _known_ids(index, kind, validated.ids)
            fresh = [
                (event_id, event)
                for event_id, event in zip(validated.ids, validated.events, strict=True)
                if event_id not in known
            ]
            duplicates = [event_id for event_id in validated.ids if event_id in known]
            if not fresh:
                index.execute("rollback")
                return Accepted(0, duplicates, None)
            if take_quota is not None:
                wait = take_quota(len(fresh))
                if wait is not None:
                    raise QuotaRefused(wait)
            lines = [_stored_line(kind, org_id, event) for _, event in fresh]
            path = write_atomically(
                folder / SOURCE_FOLDERS[kind], f"{stamp()}-{uuid.uuid4().hex[:8]}.jsonl", "\n".join(lines) + "\n"
            )
            now = datetime.now(UTC).isoformat()
            index.executemany(
                "insert into accepted values (?, ?, ?, ?)", [(kind, event_id, path.name, now) for event_id, _ in fresh]
            )
            index.execute("commit")
        except BaseException:
            if index.in_transaction:
                index.execute("rollback")
            raise
    finally:
        index.close()
    return Accepted(len(fresh), duplicates, path)


def _known_ids(index: sqlite3.Connection, kind: str, ids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = index.execute(
            "select event_id from accepted where kind = ? and event_id in (select value from json_each(?))",
            [kind, json.dumps(chunk)],
        ).fetchall()
        known.update(row[0] for row in rows)
    return known


def _stored_line(kind: str, org_id: str, event: dict) -> str:
    if kind == "handoffs":
        from aioa.ingest.handoffs import SCHEMA_V1

        return json.dumps({"schema": SCHEMA_V1, **event})
    return json.dumps(usage_event_span(org_id, event))


def usage_event_span(org_id: str, event: dict) -> dict:
    """A usage event as one OTLP/JSON GenAI span (the OTel reader's input). Trace and span ids are derived from the
    org and event id, so the warehouse key (`otel:<trace>:<span>`) is the same however often the event arrives.
    GenAI conventions count cached tokens inside `input_tokens`; cache writes are all read as 5-minute writes."""
    digest = hashlib.sha256(f"{org_id}\0{event['event_id']}".encode()).hexdigest()
    started = datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    start_ns = int(started.timestamp()) * 1_000_000_000 + started.microsecond * 1000
    end_ns = start_ns + (event.get("latency_ms") or 0) * 1_000_000
    cache_read, cache_write = event.get("cache_read_tokens", 0), event.get("cache_write_5m_tokens", 0)
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": event["provider"],
        "gen_ai.request.model": event["model"],
        "gen_ai.response.model": event["model"],
        "gen_ai.response.id": event.get("message_id"),
        "gen_ai.conversation.id": event.get("session_id"),
        "gen_ai.usage.input_tokens": event["input_tokens"] + cache_read + cache_write,
        "gen_ai.usage.output_tokens": event["output_tokens"],
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_write,
        "user.id": event.get("user_id"),
        "project.id": event.get("project_id"),
        "aioa.event_id": event["event_id"],
    }
    span = {
        "traceId": digest[:32],
        "spanId": digest[32:48],
        "name": f"chat {event['model']}",
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(end_ns),
        "attributes": [
            {"key": key, "value": _any_value(value)} for key, value in attributes.items() if value is not None
        ],
    }
    if event.get("status") == "error":
        span["status"] = {"code": 2, "message": event.get("error") or "error"}
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "aioa-api"}}]},
                "scopeSpans": [{"scope": {"name": "aioa.api.events"}, "spans": [span]}],
            }
        ]
    }


def _any_value(value) -> dict:
    return {"intValue": str(value)} if isinstance(value, int) else {"stringValue": str(value)}


def _describe(problem: Problem) -> str:
    where = f"event {problem.index}" if problem.index is not None else "body"
    return f"{where}{', field ' + problem.field if problem.field else ''}: {problem.message}"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def write_atomically(folder: Path, name: str, text: str) -> Path:
    """The whole file on disk, then visible under `name` (a reader sees the whole file or none of it)."""
    return write_text_atomically(folder / name, text, durable=True)
