"""The ingest manifest: which files were read, how far, and whether they changed since."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from aioa.ingest.columns import int_column, string_column
from aioa.ingest.lines import EMPTY_SHA256, file_prefix_sha256


@dataclass(frozen=True)
class FilePlan:
    path: Path
    size_bytes: int
    mtime_ns: int
    start_byte: int  # 0 for new or rewritten files
    start_line: int
    state: str  # new, grown, rewritten
    prefix_sha256: str = EMPTY_SHA256  # of the bytes before start_byte (kept in the manifest if reading fails)


def plan_files(
    connection: duckdb.DuckDBPyConnection,
    source_system: str,
    paths: list[str],
    stats: dict[str, tuple[int, int]] | None = None,
) -> list[FilePlan]:
    """Compare files on disk (their paths as strings) with the manifest; return only files with something new to
    read.

    `stats` holds (size, mtime_ns) the discovery walk already saw (other paths are stat-ed here). One join against
    the manifest finds new and changed files; only changed files that were read before are hashed, and only they
    become `Path`s."""
    stats = stats or {}
    on_disk = [stats.get(path) or _size_and_mtime(path) for path in paths]
    disk = pa.Table.from_arrays(
        [
            int_column(range(len(paths))),
            string_column(paths),
            int_column([size for size, _ in on_disk]),
            int_column([mtime for _, mtime in on_disk]),
        ],
        names=["idx", "path", "size_now", "mtime_now"],
    )
    connection.register("files_on_disk", disk)
    try:
        changed = connection.execute(
            "select d.idx, m.path is not null, m.size_bytes, m.consumed_bytes, m.consumed_lines, m.prefix_sha256"
            " from files_on_disk as d left join raw.ingest_manifest as m"
            " on m.source_system = ? and m.path = d.path"
            " where m.path is null or m.size_bytes is distinct from d.size_now or m.mtime_ns is distinct from"
            " d.mtime_now order by d.idx",
            [source_system],
        ).fetchall()
    finally:
        connection.unregister("files_on_disk")
    plans = []
    for idx, known, _size, consumed_bytes, consumed_lines, prefix_sha256 in changed:
        path, (size_now, mtime_now) = Path(paths[idx]), on_disk[idx]
        if not known:
            plans.append(FilePlan(path, size_now, mtime_now, 0, 0, "new"))
            continue
        if size_now >= consumed_bytes and _prefix_sha256(path, consumed_bytes) == prefix_sha256:
            if size_now == consumed_bytes:
                continue  # only touched
            plans.append(FilePlan(path, size_now, mtime_now, consumed_bytes, consumed_lines, "grown", prefix_sha256))
        else:
            plans.append(FilePlan(path, size_now, mtime_now, 0, 0, "rewritten"))
    return plans


def _size_and_mtime(path: str) -> tuple[int, int]:
    """Size and mtime of the file, else of the link itself (a loop), else zeros: reading it reports the error."""
    for stat_of in (os.stat, os.lstat):
        try:
            found = stat_of(path)
        except OSError:
            continue
        return found.st_size, found.st_mtime_ns
    return 0, 0


def _prefix_sha256(path: Path, length: int) -> str | None:
    try:
        return file_prefix_sha256(path, length)
    except OSError:
        return None  # unreadable now: planned as rewritten, and reading it reports why


MANIFEST_COLUMNS = ("path", "size_bytes", "mtime_ns", "consumed_bytes", "consumed_lines", "prefix_sha256")


def record_files(connection: duckdb.DuckDBPyConnection, source_system: str, rows: list[tuple], run_id: str) -> None:
    """Upsert manifest rows (path, size_bytes, mtime_ns, consumed_bytes, consumed_lines, prefix_sha256) in one
    statement: per-row `executemany` cost ~4 ms a file, most of a cold ingest of thousands of small files."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    batch = pa.Table.from_arrays(
        [string_column(columns[0]), *(int_column(column) for column in columns[1:5]), string_column(columns[5])],
        names=list(MANIFEST_COLUMNS),
    )
    connection.register("manifest_batch", batch)
    try:
        connection.execute(
            "insert or replace into raw.ingest_manifest (source_system, path, size_bytes, mtime_ns, consumed_bytes,"
            " consumed_lines, prefix_sha256, ingest_run_id, updated_at) "
            "select ?, path, size_bytes, mtime_ns, consumed_bytes, consumed_lines, prefix_sha256, ?, current_timestamp"
            " from manifest_batch",
            [source_system, run_id],
        )
    finally:
        connection.unregister("manifest_batch")
