"""Audit entries appended off the request path: the API queues an entry per request and one writer thread
appends them in batches (one transaction each, the hash chain computed in queue order by `audit.append_entries`).

An entry is queued with its time and content when the answer is ready; the writer appends every FLUSH_EVERY_S
seconds or as soon as BATCH entries wait. A batch that fails stays queued and is tried again, so no entry is lost
while the process lives; `close()` (the API's shutdown) writes the rest and stops the thread. While the writer is
failing, or MAX_PENDING entries wait, `submit` refuses (`AuditUnavailable`) and the API withholds the answer: no
read goes unrecorded. `audit.export`/`verify` flush this process's writers first, so they read every entry."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref

from aioa.identity import audit
from aioa.settings import Settings

# Each batch is one transaction that reads the chain's last hash: at 0.05 s it cost a decision of POST /v1/route
# about 2 CPU-ms (GIL and commits beside the request); an entry still reaches the store within a quarter second.
FLUSH_EVERY_S = 0.25
RETRY_AFTER_S = 0.5
BATCH = 500
MAX_PENDING = 20_000
log = logging.getLogger("aioa.audit")
_writers: weakref.WeakSet[AuditWriter] = weakref.WeakSet()


class AuditUnavailable(RuntimeError):
    """The audit log cannot take this entry now (its writer fails, or too many entries wait)."""


class AuditWriter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pending: list[dict] = []
        self._lock = threading.Lock()  # guards _pending and _failing
        self._write_lock = threading.Lock()  # one batch at a time, in order (the thread or a flush)
        self._wake = threading.Event()
        self._closed = False
        self._failing: str | None = None
        self._thread: threading.Thread | None = None  # started by the first entry
        _writers.add(self)

    def submit(self, **fields) -> None:
        """Queue one entry (the arguments of `audit.record`); raises AuditUnavailable instead of queueing it when
        the writer is failing or full."""
        entry = audit.new_entry(**fields)
        with self._lock:
            if self._failing is not None:
                raise AuditUnavailable(f"the audit log cannot be written: {self._failing}")
            if len(self._pending) >= MAX_PENDING or self._closed:
                raise AuditUnavailable("the audit log is not taking entries (full or shut down)")
            self._pending.append(entry)
            waiting = len(self._pending)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="aioa-audit-writer", daemon=True)
                self._thread.start()
        if waiting >= BATCH:
            self._wake.set()

    def flush(self) -> None:
        """Write every queued entry now (raises what the store raised; the entries then stay queued)."""
        with self._write_lock:
            while True:
                with self._lock:
                    batch = self._pending[:BATCH]
                if not batch:
                    return
                try:
                    audit.append_entries(self.settings, batch)
                except Exception as error:
                    with self._lock:
                        self._failing = f"{type(error).__name__}: {error}"[:300]
                    raise
                with self._lock:
                    del self._pending[: len(batch)]  # only this lock's holder removes, so these are the batch
                    self._failing = None

    def close(self) -> None:
        """Write the rest and stop the thread (the API's shutdown)."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_EVERY_S)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - kept queued; submit refuses until a retry succeeds
                log.exception("audit entries could not be written; retrying")
                time.sleep(RETRY_AFTER_S)


def flush_writers(identity_url: str | None = None) -> None:
    """Write what this process's writers (of one store, or all) hold."""
    for writer in list(_writers):
        if identity_url is None or writer.settings.identity_url == identity_url:
            writer.flush()


@atexit.register
def _flush_at_exit() -> None:
    for writer in list(_writers):
        try:
            writer.flush()
        except Exception:  # noqa: BLE001 - nothing left to tell at exit but the log
            log.exception("audit entries lost at exit")
