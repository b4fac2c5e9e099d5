"""`aioa watch`: follow the configured log folders and the API's inbox, ingest what changes within seconds.

File events (watchdog) mark a source dirty; after a short quiet period the source is ingested through the same
runner as `aioa ingest` (manifest, incremental, idempotent, quarantine), and a snapshot is published at most once
per `publish_interval_s`, so readers see new lines within seconds while a burst of writes costs one publish. A
rescan every `rescan_s` catches events the OS dropped. The marts (dbt) are rebuilt by the full pipeline every
`rebuild_s` (0: never here; the Dagster schedule or `aioa run` does it): raw-level reports such as `aioa report`
are live, pages built on the marts show their data age.

If another process holds the warehouse (a pipeline run), the batch waits for the next tick: nothing is lost, the
manifest still says what was read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from aioa.ingest.registry import SOURCES, LogSource
from aioa.settings import Settings

log = logging.getLogger("aioa.watch")
_LOG_SUFFIXES = (".jsonl", ".json", ".csv")


@dataclass
class WatchStats:
    batches: int = 0
    rows: int = 0  # new llm calls, tool calls and handoffs
    quarantined: int = 0
    publishes: int = 0
    busy_retries: int = 0  # ticks that found the warehouse held by another writer
    last_snapshot: str | None = None
    errors: list[str] = field(default_factory=list)


class Watcher:
    """Call `start()`, then `run(stop)` (or `tick()` yourself); `close()` stops the file observer."""

    def __init__(
        self,
        settings: Settings,
        *,
        publish_interval_s: float = 4.0,
        quiet_s: float = 0.3,
        rescan_s: float = 60.0,
        rebuild_s: float = 0.0,
        on_batch: Callable[[str, object], None] | None = None,
    ) -> None:
        self.settings = settings
        self.publish_interval_s = publish_interval_s
        self.quiet_s = quiet_s
        self.rescan_s = rescan_s
        self.rebuild_s = rebuild_s
        self.on_batch = on_batch
        self.stats = WatchStats()
        self._sources: dict[str, LogSource] = {entry.name: entry for entry in SOURCES}
        self._dirty: dict[str, float] = {}  # source name -> time of the last event
        self._lock = threading.Lock()
        self._observer = Observer()
        self._unpublished = False
        self._last_publish = 0.0
        self._last_rescan = 0.0
        self._last_rebuild = time.monotonic()

    # --- what is watched -------------------------------------------------------------------------------------
    def paths(self) -> dict[str, list[Path]]:
        """Each source's configured locations (with defaults, as `aioa ingest` uses them) and its inbox folders."""
        return {name: entry.configured_paths(self.settings) for name, entry in self._sources.items()}

    def start(self) -> None:
        inbox = self.settings.home / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        self._observer.schedule(_Handler(self, inbox_root=inbox), str(inbox), recursive=True)
        for name, paths in self.paths().items():
            for path in paths:
                if path.is_relative_to(inbox) or not path.exists():
                    continue
                folder = path if path.is_dir() else path.parent
                self._observer.schedule(_Handler(self, source=name), str(folder), recursive=True)
        self._observer.start()
        self.mark_all_dirty()  # catch up with what changed while nobody watched

    def close(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)

    def mark_dirty(self, source: str) -> None:
        with self._lock:
            self._dirty[source] = time.monotonic()

    def mark_all_dirty(self) -> None:
        for name in self._sources:
            self.mark_dirty(name)

    # --- the loop ----------------------------------------------------------------------------------------------
    def run(self, stop: threading.Event, *, poll_s: float = 0.2) -> WatchStats:
        while not stop.is_set():
            self.tick()
            stop.wait(poll_s)
        self.tick(final=True)
        return self.stats

    def tick(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if self.rescan_s and now - self._last_rescan >= self.rescan_s:
            self._last_rescan = now
            self.mark_all_dirty()
        with self._lock:
            ready = [name for name, seen in self._dirty.items() if final or now - seen >= self.quiet_s]
            for name in ready:
                del self._dirty[name]
        for name in ready:
            if not self._ingest(name):
                self.mark_dirty(name)  # the warehouse was busy: try again on a later tick
        if self._unpublished and (final or time.monotonic() - self._last_publish >= self.publish_interval_s):
            self._publish()
        if self.rebuild_s and time.monotonic() - self._last_rebuild >= self.rebuild_s:
            self._rebuild()

    def _ingest(self, name: str) -> bool:
        from aioa.ingest.runner import ingest

        entry = self._sources[name]
        paths = [path for path in entry.configured_paths(self.settings) if path.exists()]
        if not paths:
            return True
        try:
            summary = ingest(entry.source(), paths, self.settings, publish=False)
        except duckdb.IOException as error:  # another process holds the writer lock
            if "lock" not in str(error).lower():
                raise
            self.stats.busy_retries += 1
            return False
        except Exception as error:  # one source failing must not stop the others: say it and go on
            log.exception("ingest of %s failed", name)
            self.stats.errors.append(f"{name}: {error}")
            return True
        self.stats.batches += 1
        self.stats.rows += sum(summary.rows_added.values())
        self.stats.quarantined += summary.quarantined
        if summary.files_read or summary.quarantined:
            self._unpublished = True
        if self.on_batch:
            self.on_batch(name, summary)
        return True

    def _publish(self) -> None:
        from aioa.warehouse.snapshots import publish_snapshot

        try:
            self.stats.last_snapshot = publish_snapshot(self.settings)
        except duckdb.IOException:
            self.stats.busy_retries += 1
            return
        self._unpublished = False
        self._last_publish = time.monotonic()
        self.stats.publishes += 1

    def _rebuild(self) -> None:
        from aioa.pipeline import PipelineError, SourcePaths, run_pipeline

        self._last_rebuild = time.monotonic()
        try:
            run_pipeline(self.settings, SourcePaths.from_settings(self.settings), include_ml=False)
        except PipelineError as error:
            self.stats.errors.append(str(error))


class _Handler(FileSystemEventHandler):
    """Marks a source dirty on a created, modified or moved-in log file."""

    def __init__(self, watcher: Watcher, *, source: str | None = None, inbox_root: Path | None = None) -> None:
        self.watcher = watcher
        self.source = source
        self.inbox_root = inbox_root

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("created", "modified", "moved", "closed"):
            return
        path = Path(str(getattr(event, "dest_path", "") or event.src_path))
        if event.is_directory or not path.name.endswith(_LOG_SUFFIXES) or path.name.startswith("."):
            return
        if self.source:
            self.watcher.mark_dirty(self.source)
            return
        relative = path.relative_to(self.inbox_root).parts  # <org>/<source>/<file>
        if len(relative) >= 3 and relative[1] in self.watcher._sources:
            self.watcher.mark_dirty(relative[1])
