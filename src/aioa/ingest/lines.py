"""Reading new lines of log files into Arrow without a Python loop over lines, keeping hostile lines out.

A line is held back from the readers, and reported with its number and reason, when it is longer than the line
limit (skipped while reading: never held whole), nested deeper than the JSON depth limit, or not valid UTF-8.
Only regular files are opened, and never through a symlink: a FIFO named like a log must not block a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from aioa.ingest.columns import bool_column, int_column

NEWLINE = 10
OPENING = (ord("["), ord("{"))
CLOSING = (ord("]"), ord("}"))
QUOTE, BACKSLASH = ord('"'), ord("\\")
READ_CHUNK_BYTES = 16 * 1024 * 1024
EXCERPT_CHARS = 500
EMPTY_SHA256 = hashlib.sha256().hexdigest()


@dataclass(frozen=True)
class LineLimits:
    max_line_bytes: int = 16 * 1024 * 1024
    max_json_depth: int = 1000
    json_lines: bool = True  # False for formats that are not one JSON document per line (CSV): no depth/UTF-8 check


@dataclass(frozen=True)
class LineProblem:
    line_no: int
    reason: str
    excerpt: str | None


@dataclass
class FileSlice:
    """The not-yet-ingested part of one file, as Arrow lines."""

    path: Path
    start_byte: int
    start_line: int
    lines: pa.Table  # line_no int64, text large_string (each line keeps its trailing newline); problem lines left out
    consumed_bytes: int  # absolute offset up to which the file is fully ingested
    consumed_lines: int
    prefix_sha256: str
    truncated_tail: bool  # last line had no newline and was not valid JSON: re-read when the file grows
    last_line_no: int = 0  # number of the last line seen, problem lines included
    problems: list[LineProblem] = field(default_factory=list)  # lines held back from the readers

    @property
    def line_count(self) -> int:
        return self.last_line_no - self.start_line


class NotRegularFileError(OSError):
    """A path that is a FIFO, a device, a socket or a directory: reading it could block or means nothing."""


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading without blocking on FIFOs and without following a final symlink."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"not a regular file ({file_kind(mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "named pipe"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISLNK, "symlink"),
    ):
        if test(mode):
            return kind
    return "regular file" if stat.S_ISREG(mode) else "special file"


def file_prefix_sha256(path: Path, length: int) -> str:
    if length <= 0:
        return EMPTY_SHA256
    with open_regular(path) as handle:
        return _hash_prefix(handle, length).hexdigest()


def _hash_prefix(handle: BinaryIO, length: int):
    digest = hashlib.sha256()
    remaining = length
    while remaining > 0:
        chunk = handle.read(min(remaining, 8 * 1024 * 1024))
        if not chunk:
            break
        digest.update(chunk)
        remaining -= len(chunk)
    return digest


def read_new_lines(
    path: Path, start_byte: int = 0, start_line: int = 0, prefix_digest=None, limits: LineLimits | None = None
) -> FileSlice:
    """Read `path` from `start_byte`; split into lines with numpy and wrap the bytes as Arrow strings (no copy).

    The file is read in chunks: a line longer than the limit is dropped as soon as it is known to be too long and
    the rest of it is only scanned for its newline, so memory stays bounded by the limit plus one chunk.
    """
    limits = limits or LineLimits()
    with open_regular(path) as handle:
        digest = prefix_digest or _hash_prefix(handle, start_byte)
        handle.seek(start_byte)
        scan = _scan(handle, limits.max_line_bytes, digest)
    return _slice(path, start_byte, start_line, scan, limits)


@dataclass
class _Scan:
    """What one pass over the new bytes of a file found."""

    data: bytearray  # complete lines that are not too long, then the tail (bytes after the last newline)
    ends: np.ndarray  # end offset in `data` of each kept complete line
    kept_ordinals: np.ndarray  # ordinal (0-based, among all complete lines) of each kept line
    long_lines: list[tuple[int, int, bytes]]  # (ordinal, length, first bytes) of complete lines over the limit
    complete_lines: int
    newline_bytes: int  # new bytes up to and including the last newline
    long_tail: tuple[int, bytes] | None  # (length, first bytes) of an over-long tail without a newline
    digest_to_newline: hashlib._Hash
    digest_all: hashlib._Hash


def _scan(handle: BinaryIO, max_line_bytes: int, digest) -> _Scan:
    data = bytearray()
    ends_parts: list[np.ndarray] = []
    ordinal_parts: list[np.ndarray] = []
    long_lines: list[tuple[int, int, bytes]] = []
    complete_lines = 0
    line_start = 0  # offset in data of the line being read
    skipping: list | None = None  # [length so far, first bytes] of an over-long line no longer held
    raw_position = newline_bytes = 0
    digest_to_newline = digest.copy()
    while chunk := handle.read(READ_CHUNK_BYTES):
        view = memoryview(chunk)
        newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == NEWLINE)
        if len(newlines):
            digest.update(view[: newlines[-1] + 1])
            digest_to_newline = digest.copy()
            digest.update(view[newlines[-1] + 1 :])
            newline_bytes = raw_position + int(newlines[-1]) + 1
        else:
            digest.update(view)
        raw_position += len(chunk)
        skip_to = 0
        if skipping is not None:
            if not len(newlines):
                skipping[0] += len(chunk)
                continue
            skipping[0] += int(newlines[0]) + 1
            long_lines.append((complete_lines, skipping[0], skipping[1]))
            complete_lines += 1
            skipping = None
            skip_to = int(newlines[0]) + 1
            newlines = newlines[1:]
        base = len(data) - skip_to  # offset in data of the chunk's first byte
        data += view[skip_to:]
        if len(newlines):
            ends = newlines.astype(np.int64) + (base + 1)
            lengths = np.diff(ends, prepend=line_start)
            ordinals = np.arange(complete_lines, complete_lines + len(ends), dtype=np.int64)
            too_long = np.flatnonzero(lengths > max_line_bytes)
            for index in too_long[::-1]:  # rare: cut over-long lines out of data, last first
                start, end = int(ends[index] - lengths[index]), int(ends[index])
                long_lines.append((complete_lines + int(index), end - start, bytes(data[start : start + 2048])))
                del data[start:end]
                ends[index:] -= end - start
            line_start = int(ends[-1])
            if len(too_long):
                ends, ordinals = np.delete(ends, too_long), np.delete(ordinals, too_long)
            ends_parts.append(ends)
            ordinal_parts.append(ordinals)
            complete_lines += len(newlines)
        if len(data) - line_start > max_line_bytes:
            skipping = [len(data) - line_start, bytes(data[line_start : line_start + 2048])]
            del data[line_start:]
    long_lines.sort()
    return _Scan(
        data=data,
        ends=np.concatenate(ends_parts) if ends_parts else np.zeros(0, np.int64),
        kept_ordinals=np.concatenate(ordinal_parts) if ordinal_parts else np.zeros(0, np.int64),
        long_lines=long_lines,
        complete_lines=complete_lines,
        newline_bytes=newline_bytes,
        long_tail=(skipping[0], skipping[1]) if skipping is not None else None,
        digest_to_newline=digest_to_newline,
        digest_all=digest,
    )


def _slice(path: Path, start_byte: int, start_line: int, scan: _Scan, limits: LineLimits) -> FileSlice:
    data, ends = scan.data, scan.ends
    first_line = start_line + 1
    problems = [
        LineProblem(first_line + ordinal, f"line longer than {limits.max_line_bytes} bytes", _excerpt(head))
        for ordinal, _, head in scan.long_lines
    ]
    line_numbers = scan.kept_ordinals + first_line
    tail_start = int(ends[-1]) if len(ends) else 0
    has_tail = len(data) > tail_start
    tail_line_no = first_line + scan.complete_lines
    truncated_tail = tail_consumed = False
    if scan.long_tail is not None:  # an over-long last line without a newline: not consumed, re-read if it grows
        problems.append(
            LineProblem(tail_line_no, f"line longer than {limits.max_line_bytes} bytes", _excerpt(scan.long_tail[1]))
        )
    elif has_tail:
        depth, left_open = _depth_if_deep(data, tail_start, len(data), limits) if limits.json_lines else (0, 0)
        tail_consumed = left_open == 0 if depth else _is_json(data, tail_start)
        truncated_tail = not tail_consumed
        ends = np.append(ends, len(data))
        line_numbers = np.append(line_numbers, tail_line_no)
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    keep = np.ones(len(line_numbers), dtype=bool)
    if limits.json_lines:
        problems += _deep_lines(data, offsets, line_numbers, keep, limits)
        text, utf8_problems = _utf8_strings(data, offsets, line_numbers, keep)
        problems += utf8_problems
    else:
        text = _replaced_utf8_strings(data, offsets)
    lines = pa.Table.from_arrays([int_column(line_numbers), text], names=["line_no", "text"])
    if not keep.all():
        lines = lines.filter(bool_column(keep))
        if truncated_tail and not keep[-1]:
            truncated_tail = False  # the tail is reported as a problem line, not as a truncated one
    consumed_in_slice = scan.newline_bytes + (len(data) - tail_start if tail_consumed else 0)
    everything_consumed = tail_consumed or not (has_tail or scan.long_tail is not None)
    digest = scan.digest_all if everything_consumed else scan.digest_to_newline
    return FileSlice(
        path=path,
        start_byte=start_byte,
        start_line=start_line,
        lines=lines,
        consumed_bytes=start_byte + consumed_in_slice,
        consumed_lines=start_line + scan.complete_lines + int(tail_consumed),
        prefix_sha256=digest.hexdigest(),
        truncated_tail=truncated_tail,
        last_line_no=start_line + scan.complete_lines + int(has_tail or scan.long_tail is not None),
        problems=sorted(problems, key=lambda problem: problem.line_no),
    )


def _deep_lines(data, offsets, line_numbers, keep, limits: LineLimits) -> list[LineProblem]:
    """Lines nested deeper than the limit. Only lines with more opening brackets than the limit are measured."""
    problems = []
    limit = limits.max_json_depth
    starts, ends = offsets[:-1], offsets[1:]
    for index in np.flatnonzero(ends - starts > limit):  # a line shorter than the limit cannot be deeper
        start, end = int(starts[index]), int(ends[index])
        if _depth_if_deep(data, start, end, limits)[0]:
            keep[index] = False
            problems.append(
                LineProblem(
                    int(line_numbers[index]),
                    f"JSON nested deeper than {limit} levels",
                    _excerpt(data[start : start + 2048]),
                )
            )
    return problems


def _depth_if_deep(data, start: int, end: int, limits: LineLimits) -> tuple[int, int]:
    """(depth, brackets left open) of data[start:end] when deeper than the limit, else (0, 0)."""
    if data.count(b"[", start, end) + data.count(b"{", start, end) <= limits.max_json_depth:
        return 0, 0
    depth, left_open = json_depth(memoryview(data)[start:end])
    return (depth, left_open) if depth > limits.max_json_depth else (0, 0)


def json_depth(raw) -> tuple[int, int]:
    """(deepest nesting, brackets left open at the end) of JSON text; brackets inside strings do not count.

    Exact for valid JSON; for invalid JSON never less than what a parser reaches before it fails. Vectorised, so
    it is safe and fast on input nested far beyond what a recursive parser survives.
    """
    octets = np.frombuffer(raw, dtype=np.uint8)
    opens = np.flatnonzero((octets == OPENING[0]) | (octets == OPENING[1]))
    closes = np.flatnonzero((octets == CLOSING[0]) | (octets == CLOSING[1]))
    positions = np.concatenate([opens, closes])
    steps = np.concatenate([np.ones(len(opens), np.int64), np.full(len(closes), -1, np.int64)])
    order = np.argsort(positions, kind="stable")
    positions, steps = positions[order], steps[order]
    quotes = _unescaped_quotes(octets)
    if len(quotes):
        steps = steps[np.searchsorted(quotes, positions) % 2 == 0]  # an even number of quotes before: outside
    if not len(steps):
        return 0, 0
    depth = np.cumsum(steps)
    return max(int(depth.max()), 0), int(depth[-1])


def max_json_depth(connection) -> int:
    """The depth limit of this ingest (the runner sets it as a DuckDB variable), for readers that parse in Python."""
    configured = connection.execute("select getvariable('max_json_depth')").fetchall()[0][0]
    return int(configured) if configured is not None else LineLimits().max_json_depth


def _unescaped_quotes(octets: np.ndarray) -> np.ndarray:
    """Positions of `"` not escaped, i.e. not preceded by an odd run of backslashes."""
    quotes = np.flatnonzero(octets == QUOTE)
    backslashes = np.flatnonzero(octets == BACKSLASH)
    if not len(quotes) or not len(backslashes):
        return quotes
    breaks = np.flatnonzero(np.diff(backslashes) != 1)
    run_starts = np.concatenate([backslashes[:1], backslashes[breaks + 1]])
    run_ends = np.concatenate([backslashes[breaks], backslashes[-1:]])
    escaped = run_ends[(run_ends - run_starts) % 2 == 0] + 1  # odd run length
    return quotes[~np.isin(quotes, escaped)]


def _is_json(data: bytearray, start: int) -> bool:
    try:
        json.loads(bytes(data[start:]))
    except ValueError:  # includes invalid UTF-8
        return False
    except RecursionError:  # within the depth limit but past Python's stack: complete if the brackets close
        return json_depth(memoryview(data)[start:])[1] == 0
    return True


def _utf8_strings(data, offsets: np.ndarray, line_numbers, keep) -> tuple[pa.Array, list[LineProblem]]:
    array = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        array.validate(full=True)
        return array, []
    except pa.ArrowInvalid:
        pass
    # Rare path: find the lines that are not UTF-8; they are reported, never loaded with replaced bytes.
    problems = []
    texts = []
    for index in range(len(offsets) - 1):
        raw = bytes(data[offsets[index] : offsets[index + 1]])
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            texts.append("")
            if keep[index]:
                keep[index] = False
                reason = f"invalid UTF-8: bad byte at position {error.start + 1} of the line"
                problems.append(LineProblem(int(line_numbers[index]), reason, _excerpt(raw[:2048])))
    return pa.array(texts, type=pa.large_string()), problems


def _replaced_utf8_strings(data, offsets: np.ndarray) -> pa.Array:
    """Lines of a format its reader parses itself (CSV): bad bytes replaced, the reader reports the file."""
    array = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        array.validate(full=True)
        return array
    except pa.ArrowInvalid:
        texts = [
            bytes(data[offsets[i] : offsets[i + 1]]).decode("utf-8", errors="replace") for i in range(len(offsets) - 1)
        ]
        return pa.array(texts, type=pa.large_string())


def _excerpt(head: bytes | bytearray) -> str:
    return bytes(head).decode("utf-8", errors="replace")[:EXCERPT_CHARS]
