"""What every reader provides: which files it reads and the SQL (or Arrow) that stages a batch as contract rows."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

import duckdb

from aioa.ingest.lines import file_kind

SQL_DIR = files("aioa.ingest") / "sql"


def read_sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


class DiscoveredFile(NamedTuple):
    """A file a reader found. Every run finds every file, and reads only the few that changed: the walk keeps each
    one's path as a string (`location`), and `path` makes the `Path` where one is needed."""

    location: str  # the real path
    config_dir: str | None = None  # the root the file was found under (e.g. a Claude config dir)
    skip_reason: str | None = None  # set when the path is not read (symlink out of the root, FIFO, ...): quarantined
    stat: tuple[int, int] | None = None  # (size, mtime_ns) seen by the walk, so planning needs no second stat

    @property
    def path(self) -> Path:
        return Path(self.location)


class Source:
    """A reader. Subclasses set `name`, `tables` and implement `discover` and `stage`.

    `stage` reads the temp views `batch_lines(file_idx, line_no, text)` and `batch_files(file_idx, path,
    config_dir, truncated_tail, last_line_no)` and creates `stage_<table>` for each table in `tables`
    (contract columns plus hint_* columns for attribution) and `stage_quarantine`.
    """

    name: str = ""
    tables: tuple[str, ...] = ()
    whole_files: bool = False  # True for formats whose records span lines (CSV): re-read whole files

    def discover(self, paths: list[Path]) -> list[DiscoveredFile]:
        raise NotImplementedError

    def stage(self, connection: duckdb.DuckDBPyConnection) -> None:
        raise NotImplementedError


def find_files(paths: list[Path], patterns: tuple[str, ...], config_dir: str | None = None) -> list[DiscoveredFile]:
    """Regular files matching any `**/<name glob>` pattern under each path (a path that is a file is taken as is).

    Paths are real paths (no symlink in them), so a file reachable twice is found once and the manifest sees one
    name. Symlinks are not followed out of their root: such a link, a symlink loop, and a FIFO, socket, device or
    directory named like a log come back with a `skip_reason` so the run quarantines them instead of reading them.
    `config_dir`: what each file's `config_dir` is (default: the root it was found under).

    Every run walks the whole tree (one stat per file) to find what changed, so the walk keeps to plain strings: on a
    15,625-file tree it cost 0.6 CPU-s with a `Path`, an fnmatch and a dataclass copy per file, 0.29 with a `Path`
    and a dataclass, 0.15 with neither (the bare scandir and stat: 0.11).
    """
    match = re.compile("|".join(fnmatch.translate(_name_glob(pattern)) for pattern in patterns)).match
    found: dict[str, DiscoveredFile] = {}
    for root in paths:
        root = Path(os.path.realpath(root.expanduser()))
        if root.is_file():
            found.setdefault(
                str(root), DiscoveredFile(str(root), config_dir or str(root.parent), stat=_size_and_mtime(root))
            )
            continue
        if root.is_dir():
            for discovered in _walk(root, match, config_dir or str(root)):
                found.setdefault(discovered.location, discovered)
    return [found[location] for location in sorted(found)]


def _name_glob(pattern: str) -> str:
    if not pattern.startswith("**/") or "/" in pattern[3:]:
        raise ValueError(f"file patterns are `**/<name glob>`, got {pattern!r}")
    return pattern[3:]


def _walk(root: Path, match, config_dir: str):
    """Walk `root` without following symlinks: a link inside the root leads to a file the walk reaches anyway."""
    pending = [str(root)]  # a real path, so each entry's `path` (folder + "/" + name) is one too
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            continue  # an unreadable folder holds nothing we can read
        for entry in entries:  # one stat per matching file (scandir knows the type of the others)
            matches = match(entry.name) is not None
            if not matches and not entry.is_dir():
                continue
            if entry.is_symlink():
                yield from _symlink(root, Path(entry.path), matches, config_dir)
            elif entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
                if matches:
                    yield DiscoveredFile(entry.path, config_dir, "not a regular file (directory): skipped")
            else:
                try:
                    found = entry.stat(follow_symlinks=False)
                    kind = "regular file" if stat.S_ISREG(found.st_mode) else file_kind(found.st_mode)
                except OSError:
                    found, kind = None, "unreadable entry"
                if kind == "regular file":
                    yield DiscoveredFile(entry.path, config_dir, stat=(found.st_size, found.st_mtime_ns))
                else:
                    yield DiscoveredFile(entry.path, config_dir, f"not a regular file ({kind}): skipped")


def _symlink(root: Path, link: Path, matches: bool, config_dir: str):
    try:
        target = Path(os.path.realpath(link, strict=True))
    except OSError:
        if matches:
            yield DiscoveredFile(str(link), config_dir, "symlink is broken or loops: skipped")
        return
    if not target.is_relative_to(root):
        if matches or target.is_dir():
            yield DiscoveredFile(str(link), config_dir, "symlink points outside the ingest root: skipped")
    elif matches and target.is_file():
        yield DiscoveredFile(
            str(target), config_dir, stat=_size_and_mtime(target)
        )  # the real path: the same file found directly is not counted twice


def _size_and_mtime(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None  # planning stats it again and reading it reports why
    return found.st_size, found.st_mtime_ns
