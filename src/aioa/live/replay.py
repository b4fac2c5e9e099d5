"""`aioa replay --since DAY`: rebuild the raw rows from DAY on by reading their files again.

The rows dated DAY or later are deleted with the manifest entries of the files they came from (and those files'
quarantine entries) in one transaction; the files are then read again from their first line through the normal
ingest. Their rows from before DAY still exist and are matched on their keys (the merge is idempotent), so only
the deleted rows come back, and the totals are the same as before. A file that no longer exists (a transcript its
tool deleted) cannot be read again: its rows are kept and the file is reported as missing.

The API's and the OTLP receiver's inbox files are kept by aioa; transcripts and export files belong to the tools
that write them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from aioa.ingest.registry import BY_NAME
from aioa.settings import Settings

# The raw tables with dated rows (every contract table carries source_system and source_file).
_FILES_SINCE = (
    "select distinct source_file from raw.llm_calls where ts_utc >= ?",
    "select distinct source_file from raw.tool_calls where ts_utc >= ?",
    "select distinct source_file from raw.handoffs where ts_utc >= ?",
)
_DELETE_SINCE = (
    "delete from raw.llm_calls where ts_utc >= ? and source_file in (select path from replay_files)",
    "delete from raw.tool_calls where ts_utc >= ? and source_file in (select path from replay_files)",
    "delete from raw.handoffs where ts_utc >= ? and source_file in (select path from replay_files)",
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
        present = {(read_by[path], path) for path in found if path in read_by and Path(path).exists()}
        present = {(source, path) for source, path in present if source in BY_NAME}
        result.missing = sorted(found - {path for _source, path in present})
        result.files = len(present)
        connection.executemany("insert into replay_files values (?, ?)", sorted(present))
        connection.begin()
        try:
            for statement in _DELETE_SINCE:
                result.rows_removed += connection.execute(statement, [since]).fetchone()[0]
            connection.execute("delete from raw.quarantine where source_file in (select path from replay_files)")
            connection.execute(
                "delete from raw.ingest_manifest"
                " where (source_system, path) in (select source_system, path from replay_files)"
            )
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
