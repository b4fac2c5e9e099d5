"""The runner's reading side: the next batch is read in a thread while the current one loads (in order, unreadable
files reported with their batch, closing early stops it), and a batch reaches DuckDB as a few chunks of about equal
bytes (one per DuckDB thread) with its lines in order."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from aioa.ingest.columns import int_column
from aioa.ingest.lines import LineLimits
from aioa.ingest.manifest import FilePlan
from aioa.ingest.runner import _in_parts, _read_ahead


def _plan(path: Path) -> FilePlan:
    size = path.stat().st_size if path.exists() else 0
    return FilePlan(path, size, 0, 0, 0, "new")


def _files(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for index in range(count):
        path = folder / f"f{index}.jsonl"
        path.write_text("".join(f'{{"file": {index}, "line": {line}}}\n' for line in range(index + 1)))
        paths.append(path)
    return paths


def test_batches_are_read_ahead_in_order_with_unreadable_files_reported(tmp_path: Path):
    paths = _files(tmp_path / "logs", 5)
    fifo = tmp_path / "logs" / "pipe.jsonl"
    os.mkfifo(fifo)  # must not block the reader: reported as not a regular file
    batches = [[_plan(paths[0]), _plan(paths[1])], [_plan(fifo), _plan(paths[2])], [_plan(paths[3]), _plan(paths[4])]]
    seen = []
    for batch, slices, unreadable in _read_ahead(batches, LineLimits()):
        seen.append(
            (
                [plan.path.name for plan in batch],
                [slice_.path.name for slice_ in slices],
                [(plan.path.name, reason.split(":")[0]) for plan, reason in unreadable],
                [slice_.lines.num_rows for slice_ in slices],
            )
        )
    assert seen == [
        (["f0.jsonl", "f1.jsonl"], ["f0.jsonl", "f1.jsonl"], [], [1, 2]),
        (["pipe.jsonl", "f2.jsonl"], ["f2.jsonl"], [("pipe.jsonl", "file could not be read")], [3]),
        (["f3.jsonl", "f4.jsonl"], ["f3.jsonl", "f4.jsonl"], [], [4, 5]),
    ]


def test_closing_early_stops_reading(tmp_path: Path):
    paths = _files(tmp_path / "logs", 4)
    reads = _read_ahead([[_plan(path)] for path in paths], LineLimits())
    first = next(reads)
    assert first[1][0].path == paths[0]
    reads.close()  # e.g. a batch failed for a reason that is not a file's: the loop ends, the thread is joined


def test_a_batch_reaches_duckdb_in_parts_of_about_equal_bytes_in_order():
    texts = [("x" * (10 + index % 7)) + "\n" for index in range(1_000)]
    lines = pa.Table.from_arrays(
        [int_column(range(1, 1_001)), pa.array(texts, type=pa.large_string())], names=["line_no", "text"]
    ).combine_chunks()
    parted = _in_parts(lines, 4)
    assert parted.column("text").num_chunks == 4
    assert parted.equals(lines)  # same rows, same order
    sizes = [sum(len(text) for text in chunk.to_pylist()) for chunk in parted.column("text").chunks]
    longest = max(len(text) for text in texts)
    assert all(abs(size - sum(sizes) / 4) <= 2 * longest for size in sizes)  # cut at a line next to each quarter
    assert _in_parts(lines, 1).column("text").num_chunks == 1
    assert _in_parts(lines.slice(0, 3), 2).column("text").num_chunks == 1  # too few lines to split
