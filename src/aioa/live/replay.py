"""`aioa replay --since DAY`: rebuild the raw rows of every file that holds events from DAY on, by reading it again.

The unit is the file: in one transaction, every row and quarantine entry read from those files and their manifest
entries are deleted; the files are then read again from their first line through the normal ingest (which
de-duplicates on the sources' own ids, as the first read did). The rows, quarantine entries and totals come back
the same. A file that no longer exists (a transcript its tool deleted) cannot be read again: its rows are kept and
the file is reported as missing.

The API's and the OTLP receiver's inbox files are kept by aioa; transcripts and export files belong to the tools
that write them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from aioa.ingest.registry import BY_NAME, SOURCES
from aioa.settings import Settings

# The raw tables with dated rows (every contract table carries source_system and source_file).
_FILES_SINCE = (
    "select distinct source_file from raw.llm_calls where ts_utc >= ?",
    "select distinct source_file from raw.tool_calls where ts_utc >= ?",
    "select distinct source_file from raw.handoffs where ts_utc >= ?",
)
_DELETE_FILES = (
    "delete from raw.llm_calls where source_file in (select path from replay_files)",
    "delete from raw.tool_calls where source_file in (select path from replay_files)",
    "delete from raw.handoffs where source_file in (select path from replay_files)",
)


@dataclass
class ReplayResult:
    since: date
    files: int = 0
    rows_removed: int = 0
    rows_added: int = 0
    missing: list[str] = field(default_factory=list)
    snapshot_version: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def replay(settings: Settings, since: date, *, rebuild: bool = True) -> ReplayResult:
    from aioa.ingest.runner import ingest
    from aioa.warehouse import connect

    result = ReplayResult(since)
    connection = connect(settings)
    try:
        found: set[str] = set()
        for statement in _FILES_SINCE:
            found.update(path for (path,) in connection.execute(statement, [since]).fetchall())
        connection.execute("create or replace temp table replay_files (source_system varchar, path varchar)")
        # the manifest names the reader of each file (the rows' source_system is the format, e.g. handoff_log)
        read_by = dict(
            connection.execute(
                "select path, source_system from raw.ingest_manifest where path in (select unnest(?::varchar[]))",
                [sorted(found)],
            ).fetchall()
        )
        by_reader = {entry.reader_class().name: entry.name for entry in SOURCES}
        present = {
            (by_reader[read_by[path]], path) for path in found if read_by.get(path) in by_reader and Path(path).exists()
        }
        result.missing = sorted(found - {path for _source, path in present})
        result.files = len(present)
        if present:
            connection.executemany("insert into replay_files values (?, ?)", sorted(present))
        connection.begin()
        try:
            for statement in _DELETE_FILES:
                result.rows_removed += connection.execute(statement).fetchone()[0]
            connection.execute("delete from raw.quarantine where source_file in (select path from replay_files)")
            connection.execute("delete from raw.ingest_manifest where path in (select path from replay_files)")
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
    finally:
        connection.close()

    by_source: dict[str, list[Path]] = {}
    for source, path in sorted(present):
        by_source.setdefault(source, []).append(Path(path))
    for source, files in by_source.items():
        entry = BY_NAME[source]
        roots = entry.configured_paths(settings)  # read as configured: a file's root decides its attribution
        extra = [path for path in files if not any(path.is_relative_to(root.resolve()) for root in roots)]
        summary = ingest(entry.source(), roots + extra, settings, publish=not rebuild)
        result.rows_added += sum(summary.rows_added.values())
        result.snapshot_version = summary.snapshot_version or result.snapshot_version
    if rebuild and present:
        from aioa.pipeline import SourcePaths, run_pipeline

        report = run_pipeline(settings, SourcePaths.from_settings(settings), include_ml=False)
        result.snapshot_version = report.snapshot_version
    return result
