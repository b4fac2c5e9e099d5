"""Reading new lines of log files into Arrow without a Python loop over lines."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

NEWLINE = 10


@dataclass
class FileSlice:
    """The not-yet-ingested part of one file, as Arrow lines."""

    path: Path
    start_byte: int
    start_line: int
    lines: pa.Table  # line_no int64, text large_string (each line keeps its trailing newline)
    consumed_bytes: int  # absolute offset up to which the file is fully ingested
    consumed_lines: int
    prefix_sha256: str
    truncated_tail: bool  # last line had no newline and was not valid JSON: re-read when the file grows


def file_prefix_sha256(path: Path, length: int) -> str:
    digest = hashlib.sha256()
    remaining = length
    with path.open("rb") as handle:
        while remaining > 0:
            chunk = handle.read(min(remaining, 8 * 1024 * 1024))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def read_new_lines(path: Path, start_byte: int = 0, start_line: int = 0, prefix_digest=None) -> FileSlice:
    """Read `path` from `start_byte`; split into lines with numpy and wrap the bytes as Arrow strings (no copy)."""
    with path.open("rb") as handle:
        handle.seek(start_byte)
        data = handle.read()
    digest = prefix_digest or (hashlib.sha256() if start_byte == 0 else None)
    newline_positions = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == NEWLINE)
    ends = newline_positions + 1
    has_tail = len(data) > 0 and (len(ends) == 0 or ends[-1] != len(data))
    truncated_tail = False
    if has_tail:
        tail = data[(ends[-1] if len(ends) else 0) :]
        if _is_json(tail):
            ends = np.append(ends, len(data))
        else:
            truncated_tail = True
    consumed_in_slice = int(ends[-1]) if len(ends) else 0
    line_ends = np.append(ends, len(data)) if truncated_tail else ends
    offsets = np.concatenate([[0], line_ends]).astype(np.int64)
    text = _utf8_strings(data, offsets)
    line_numbers = np.arange(start_line + 1, start_line + 1 + len(line_ends), dtype=np.int64)
    lines = pa.table({"line_no": line_numbers, "text": text})
    if digest is not None:
        digest.update(data[:consumed_in_slice])
        prefix = digest.hexdigest()
    else:
        prefix = file_prefix_sha256(path, start_byte + consumed_in_slice)
    return FileSlice(
        path=path,
        start_byte=start_byte,
        start_line=start_line,
        lines=lines,
        consumed_bytes=start_byte + consumed_in_slice,
        consumed_lines=start_line + len(ends),
        prefix_sha256=prefix,
        truncated_tail=truncated_tail,
    )


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def _utf8_strings(data: bytes, offsets: np.ndarray) -> pa.Array:
    array = pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data)
    )
    try:
        array.validate(full=True)
        return array
    except pa.ArrowInvalid:
        # Rare path: some lines are not UTF-8. Replace bad bytes so the line can still be quarantined.
        texts = [data[offsets[i] : offsets[i + 1]].decode("utf-8", errors="replace") for i in range(len(offsets) - 1)]
        return pa.array(texts, type=pa.large_string())
