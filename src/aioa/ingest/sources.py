"""What every reader provides: which files it reads and the SQL (or Arrow) that stages a batch as contract rows."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import duckdb

SQL_DIR = files("aioa.ingest") / "sql"


def read_sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


@dataclass(frozen=True)
class DiscoveredFile:
    path: Path
    config_dir: str | None = None  # the root the file was found under (e.g. a Claude config dir)


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


def find_files(paths: list[Path], patterns: tuple[str, ...]) -> list[DiscoveredFile]:
    """Files matching any glob pattern under each path (a path that is itself a file is taken as it is)."""
    found: dict[Path, DiscoveredFile] = {}
    for root in paths:
        root = root.expanduser().resolve()
        if root.is_file():
            found.setdefault(root, DiscoveredFile(root, str(root.parent)))
            continue
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                if path.is_file():
                    found.setdefault(path, DiscoveredFile(path, str(root)))
    return sorted(found.values(), key=lambda discovered: str(discovered.path))
