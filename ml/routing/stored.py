"""The files the router serves from (the champion's serving copy, the performance predictor, the tuned thresholds):
written atomically (`aioa.atomic_files`), and read once per version of the file.

A version is (st_mtime_ns, st_size, st_ino), not the modification time alone: a replacement written within the
same clock tick (coarse file-system timestamps) has the same mtime, but `os.replace` puts a new inode in place.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

FileVersion = tuple[int, int, int]

_MAX_FILES = 16  # distinct paths remembered (one home has three; tests and tenants use a few homes)
_CACHE: dict[str, tuple[FileVersion, Any]] = {}  # path → (version read, content): only the latest version per path
_LOCK = threading.Lock()  # one reader of a new version at a time (the hot path, a hit, takes no lock)


def file_version(path: Path) -> FileVersion | None:
    """(st_mtime_ns, st_size, st_ino) of the file, or None when it is missing."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return _version(stat)


def _version(stat: os.stat_result) -> FileVersion:
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def read(path: Path, reader: Callable[[Any], Any]) -> Any | None:
    """The file's content as `reader(binary file)` returns it, read once per version of the file; None when it is
    missing. The version is taken from the open file, so content and version always belong together."""
    key = str(path)
    version = file_version(path)
    if version is None:
        return None
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == file_version(path):
            return cached[1]
        try:
            with open(path, "rb") as handle:
                version = _version(os.fstat(handle.fileno()))
                content = reader(handle)
        except FileNotFoundError:
            return None
        _CACHE.pop(key, None)
        if len(_CACHE) >= _MAX_FILES:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = (version, content)
        return content


def forget() -> None:
    """Drop every remembered file (the next read loads it again)."""
    with _LOCK:
        _CACHE.clear()
