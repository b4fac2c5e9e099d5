"""The decisions log: every production routing decision with the propensity of the chosen route, appended as JSONL
under `<AIOA_HOME>/routing/decisions/`, and read back set-based (DuckDB `read_json`) joined to the handoff outcomes.

Writes are buffered in memory and handed to a background writer every FLUSH_EVERY decisions (and flushed at exit),
one file per process and day, so logging adds microseconds to `route()` and processes never interleave lines.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from aioa.settings import Settings

FLUSH_EVERY = 256
COLUMNS = {
    "decision_id": "VARCHAR",
    "ts": "TIMESTAMP",
    "task_id": "VARCHAR",
    "org_id": "VARCHAR",
    "experiment": "VARCHAR",
    "router_version": "VARCHAR",
    "p_cheap": "DOUBLE",
    "routing_score": "DOUBLE",
    "threshold": "DOUBLE",
    "greedy_route": "VARCHAR",
    "route": "VARCHAR",
    "target": "VARCHAR",
    "propensity": "DOUBLE",
    "explored": "BOOLEAN",
}


def decisions_dir(settings: Settings) -> Path:
    return settings.home / "routing" / "decisions"


class DecisionLog:
    """Buffered, append-only writer for one AIOA_HOME (thread-safe). Full buffers are written by a background
    thread, so a route() call never waits for the disk; `flush()` writes everything and waits."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self._pending: queue.Queue[list[str]] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._file_lock = threading.Lock()  # the background writer and flush() never write at the same time

    def append(self, record: dict) -> None:
        line = json.dumps(record, default=str)
        with self._lock:
            self._buffer.append(line)
            if len(self._buffer) < FLUSH_EVERY:
                return
            lines, self._buffer = self._buffer, []
            self._pending.put(lines)
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._drain, name="aioa-decision-log", daemon=True)
                self._writer.start()

    def _drain(self) -> None:
        while True:
            try:
                lines = self._pending.get(timeout=1.0)
            except queue.Empty:
                return
            try:
                self._write(lines)
            finally:
                self._pending.task_done()

    def _write(self, lines: list[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"decisions-{datetime.now(UTC):%Y%m%d}-{os.getpid()}.jsonl"
        with self._file_lock, path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def flush(self) -> None:
        with self._lock:
            lines, self._buffer = self._buffer, []
            if lines:
                self._pending.put(lines)
        while True:  # write what is queued here too (the background writer may have exited)
            try:
                lines = self._pending.get_nowait()
            except queue.Empty:
                break
            try:
                self._write(lines)
            finally:
                self._pending.task_done()
        self._pending.join()


_LOGS: dict[Path, DecisionLog] = {}


def decision_log(settings: Settings) -> DecisionLog:
    folder = decisions_dir(settings)
    if folder not in _LOGS:
        _LOGS[folder] = DecisionLog(folder)
    return _LOGS[folder]


def flush_all() -> None:
    for log in list(_LOGS.values()):
        log.flush()


atexit.register(flush_all)


def read_decisions(settings: Settings) -> pd.DataFrame:
    """All logged decisions (flushed ones), typed; an empty frame with the columns when there are none."""
    flush_all()
    folder = decisions_dir(settings)
    if not any(folder.glob("*.jsonl")):
        return pd.DataFrame({name: pd.Series(dtype="object") for name in COLUMNS})
    import duckdb

    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items())
    with duckdb.connect() as connection:
        return connection.execute(
            f"select * from read_json(?, format = 'newline_delimited', columns = {{{columns}}})",
            [str(folder / "*.jsonl")],
        ).df()


def decisions_with_outcomes(settings: Settings, decisions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Decisions joined by task_id to their verified handoff outcome (success, cost) in the read snapshot; only rows
    whose handoff went to the decided target (an outcome of another model says nothing about this decision)."""
    decisions = read_decisions(settings) if decisions is None else decisions
    if decisions.empty:
        return decisions.assign(success=pd.Series(dtype=float), cost_usd=pd.Series(dtype=float))
    from aioa.warehouse.snapshots import open_snapshot

    connection, _ = open_snapshot(settings)
    with connection:
        connection.register("decisions", decisions)
        return connection.execute("""
            with outcomes as (
                select task_id, target_model, cast(success as double) as success, cost_usd, latency_ms,
                       task_text, task_type, project_id, input_tokens,
                       org_id as handoff_org_id
                from marts.fct_handoffs
                where success is not null and coalesce(outcome_verified, false)
                qualify row_number() over (partition by task_id order by ts_utc desc) = 1
            )
            select decisions.* exclude (org_id),
                   coalesce(decisions.org_id, outcomes.handoff_org_id) as org_id,
                   outcomes.success, outcomes.cost_usd, outcomes.latency_ms,
                   outcomes.task_text, outcomes.task_type, outcomes.project_id, outcomes.input_tokens
            from decisions
            join outcomes on outcomes.task_id = decisions.task_id and outcomes.target_model = decisions.target
        """).df()


def logged_handoffs(settings: Settings) -> pd.DataFrame:
    """Handoffs whose router logged a propensity (e.g. the generator's keyword router with 10% exploration), in the
    same shape as `decisions_with_outcomes`: the other source of logged bandit feedback."""
    from aioa.warehouse.snapshots import open_snapshot

    connection, _ = open_snapshot(settings)
    with connection:
        return connection.execute("""
            select handoff_id as decision_id, ts_utc as ts, task_id, org_id, null as experiment, router_version,
                   null::double as p_cheap, null::double as routing_score,
                   null::double as threshold, predicted_route as greedy_route,
                   target_model as target, propensity, null::boolean as explored,
                   cast(success as double) as success, cost_usd, latency_ms,
                   task_text, task_type, project_id, input_tokens
            from marts.fct_handoffs
            where propensity is not null and success is not null and coalesce(outcome_verified, false)
            order by ts_utc, handoff_id
        """).df()
