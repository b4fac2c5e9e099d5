"""The ingest manifest: which files were read, how far, and whether they changed since."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from aioa.ingest.lines import file_prefix_sha256


@dataclass(frozen=True)
class FilePlan:
    path: Path
    size_bytes: int
    mtime_ns: int
    start_byte: int  # 0 for new or rewritten files
    start_line: int
    state: str  # new, grown, rewritten


def plan_files(connection: duckdb.DuckDBPyConnection, source_system: str, paths: list[Path]) -> list[FilePlan]:
    """Compare files on disk with the manifest; return only files with something new to read."""
    known = {
        row[0]: row[1:]
        for row in connection.execute(
            "select path, size_bytes, mtime_ns, consumed_bytes, consumed_lines, prefix_sha256 "
            "from raw.ingest_manifest where source_system = ?",
            [source_system],
        ).fetchall()
    }
    plans = []
    for path in paths:
        stat = path.stat()
        previous = known.get(str(path))
        if previous is None:
            plans.append(FilePlan(path, stat.st_size, stat.st_mtime_ns, 0, 0, "new"))
            continue
        size, mtime_ns, consumed_bytes, consumed_lines, prefix_sha256 = previous
        if stat.st_size == size and stat.st_mtime_ns == mtime_ns:
            continue
        if stat.st_size >= consumed_bytes and file_prefix_sha256(path, consumed_bytes) == prefix_sha256:
            if stat.st_size == consumed_bytes:
                continue  # only touched
            plans.append(FilePlan(path, stat.st_size, stat.st_mtime_ns, consumed_bytes, consumed_lines, "grown"))
        else:
            plans.append(FilePlan(path, stat.st_size, stat.st_mtime_ns, 0, 0, "rewritten"))
    return plans


def record_files(connection: duckdb.DuckDBPyConnection, source_system: str, rows: list[tuple], run_id: str) -> None:
    """Upsert manifest rows: (path, size_bytes, mtime_ns, consumed_bytes, consumed_lines, prefix_sha256)."""
    if not rows:
        return
    connection.executemany(
        "insert or replace into raw.ingest_manifest "
        "(source_system, path, size_bytes, mtime_ns, consumed_bytes, consumed_lines, prefix_sha256, ingest_run_id,"
        " updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [(source_system, *row, run_id) for row in rows],
    )
