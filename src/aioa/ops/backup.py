"""`aioa backup`, `aioa backup verify`, `aioa restore`: a consistent, checksummed copy of everything under AIOA_HOME
that cannot be recreated, taken while the pipeline may be running.

Consistency without stopping the writer:
- the DuckDB warehouse is backed up as the published snapshot `CURRENT` names. It is an immutable, checkpointed copy
  of the whole warehouse (raw events, ingest manifest, quarantine, marts, ML tables), so rows and the manifest that
  says which log lines they came from travel together; the working file, locked by a running ingest, is never opened.
  Lines ingested after that publish are re-read from the logs by the next run (the manifest does not list them).
- SQLite stores (accounts and audit, MLflow, Dagster runs and schedules) are copied with SQLite's online backup API
  in one step, i.e. one read transaction: a concurrent writer never leaves a half-written page in the copy.
- Everything else (settings YAML, keys, MLflow artifacts, API inbox, routing decisions) is copied file by file.
- Stores on PostgreSQL (the accounts/audit store with AIOA_DATABASE_URL, the warehouse with AIOA_WAREHOUSE=postgres)
  are dumped with `pg_dump` (one repeatable-read transaction: consistent while others write) and restored with
  `pg_restore --single-transaction` into an empty database.
Each file's SHA-256 is recorded in MANIFEST.json; verify and restore recompute them before anything is trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from aioa.settings import Settings
from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot

FORMAT = "aioa-backup/1"
MANIFEST = "MANIFEST.json"
CHUNK = 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # at offset 8 of a DuckDB database file

# Top-level entries of AIOA_HOME left out, and why (the reason is written into the manifest).
EXCLUDED = {
    "warehouse.duckdb": "the working warehouse: backed up as the published snapshot (consistent while a run writes)",
    "warehouse.duckdb.wal": "the working warehouse's log: the snapshot is checkpointed",
    "snapshots": "only the current snapshot is kept",
    "sample": "generated input: `aioa generate` recreates it from its seed",
    "dbt": "build artifacts: `aioa run` regenerates them",
}
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)


class BackupError(RuntimeError):
    """A backup, verify or restore that cannot go on; the message says what to do next."""


class BackupCorrupted(BackupError):
    def __init__(self, source: Path, problems: list[str]) -> None:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        super().__init__(f"backup {source} is damaged: {shown}. Nothing was changed; restore from another backup.")
        self.problems = problems


@dataclass
class BackupFile:
    path: str  # relative to the backup folder: "home/…" or "dagster/…"
    size: int
    sha256: str
    kind: str  # warehouse, sqlite, file


@dataclass
class BackupManifest:
    format: str
    created_at: str
    aioa_version: str
    home: str
    snapshot_version: str | None
    snapshot_file: str | None
    dagster_home: str | None
    settings: dict
    files: list[BackupFile]
    excluded: dict[str, str]
    external: dict[str, str] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)  # dump name -> server/database it came from (no password)

    @classmethod
    def read(cls, folder: Path) -> BackupManifest:
        path = folder / MANIFEST
        if not path.is_file():
            raise BackupError(f"{folder} is not an aioa backup (no {MANIFEST}): pass the folder `aioa backup` wrote")
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT:
                raise BackupError(f"{path} has format {data.get('format')!r}; this aioa reads {FORMAT}")
            data["files"] = [BackupFile(**entry) for entry in data["files"]]
            return cls(**data)
        except (ValueError, TypeError, KeyError) as error:
            raise BackupCorrupted(folder, [f"{MANIFEST} is unreadable ({error})"]) from None


@dataclass
class BackupReport:
    path: str
    snapshot_version: str | None
    files: int
    bytes: int
    seconds: float
    excluded: dict[str, str]
    external: dict[str, str]

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- backup


def backup(settings: Settings, destination: Path, *, on_progress: ProgressCallback | None = None) -> BackupReport:
    """Write a backup of `settings.home` (and DAGSTER_HOME when it lies elsewhere) to `destination`, which must not
    exist or be empty. The folder appears complete or not at all (written beside it, then renamed)."""
    started = time.perf_counter()
    home = settings.home.resolve()
    destination = destination.resolve()
    if not home.is_dir():
        raise BackupError(f"AIOA_HOME {home} does not exist: nothing to back up")
    if destination == home or home in destination.parents:
        raise BackupError(f"{destination} is inside AIOA_HOME {home}: write the backup to another folder or disk")
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: choose a new folder for each backup")
    databases = server_databases(settings)
    work = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        plan, snapshot, external = _plan(settings, home)
        total = sum(size for _, _, _, size in plan)
        done = 0
        files: list[BackupFile] = []
        for name, url in databases.items():
            dump = work / "postgres" / f"{name}.dump"
            _pg_dump(url, dump)
            files.append(BackupFile(f"postgres/{name}.dump", dump.stat().st_size, _sha256(dump), "postgres"))
        for source, target, kind, size in plan:
            written = work / target
            written.parent.mkdir(parents=True, exist_ok=True)
            if kind == "sqlite":
                _sqlite_copy(source, written)
            elif kind == "duckdb":
                _duckdb_copy(source, written)
            else:
                _copy_file(source, written)
            files.append(BackupFile(target, written.stat().st_size, _sha256(written), kind))
            done += size
            if on_progress:
                on_progress(done, total)
        manifest = BackupManifest(
            format=FORMAT,
            created_at=datetime.now(UTC).isoformat(),
            aioa_version=version("aioa"),
            home=str(home),
            snapshot_version=snapshot[0] if snapshot else None,
            snapshot_file=snapshot[1] if snapshot else None,
            dagster_home=str(_separate_dagster_home(home)) if _separate_dagster_home(home) else None,
            settings=_settings_record(settings),
            files=files,
            excluded=EXCLUDED,
            external=external,
            databases={name: _without_password(url) for name, url in databases.items()},
        )
        _write_json(work / MANIFEST, asdict(manifest))
        _fsync_tree(work)
        if destination.exists():
            destination.rmdir()
        os.replace(work, destination)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupReport(
        str(destination),
        manifest.snapshot_version,
        len(files),
        sum(entry.size for entry in files),
        round(time.perf_counter() - started, 3),
        EXCLUDED,
        external,
    )


def server_databases(settings: Settings) -> dict[str, str]:
    """The PostgreSQL databases this deployment keeps state in, by part ("identity", "warehouse"); a database that
    holds both is dumped once, as "identity+warehouse"."""
    parts = {}
    if (settings.database_url or "").startswith("postgres"):
        parts["identity"] = _libpq_url(settings.database_url)
    if settings.warehouse == "postgres":
        parts["warehouse"] = _libpq_url(settings.postgres_dsn)
    by_url: dict[str, list[str]] = {}
    for part, url in parts.items():
        by_url.setdefault(url, []).append(part)
    return {"+".join(names): url for url, names in by_url.items()}


def _libpq_url(url: str) -> str:
    """SQLAlchemy's `postgresql+psycopg2://…` as libpq (pg_dump, psycopg2) reads it."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _pg_dump(url: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", f"--dbname={url}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump of {_without_password(url)} failed: {done.stderr.strip()[:500]}")


def _plan(settings: Settings, home: Path) -> tuple[list[tuple[Path, str, str, int]], tuple[str, str] | None, dict]:
    """(source, target in the backup, kind, size) for every file to copy; the snapshot taken; external stores."""
    plan: list[tuple[Path, str, str, int]] = []
    snapshot = None
    try:
        snapshot_version, snapshot_path = current_snapshot(settings)
        # Open it now: a superseded snapshot is deleted after ten minutes, an open file stays readable (POSIX).
        plan.append((snapshot_path, f"home/snapshots/{snapshot_path.name}", "warehouse", snapshot_path.stat().st_size))
        snapshot = (snapshot_version, snapshot_path.name)
    except NoSnapshotError:
        if settings.warehouse_path.exists():
            raise BackupError(
                "the warehouse has no published snapshot yet, so no consistent copy: run `aioa run` (or an ingest) "
                "once, then back up"
            ) from None
    for path in _walk(home):
        relative = path.relative_to(home)
        if relative.parts[0] in EXCLUDED or _is_side_file(path) or path.name.endswith(".partial"):
            continue
        plan.append((path, f"home/{relative.as_posix()}", _kind(path), path.stat().st_size))
    dagster_home = _separate_dagster_home(home)
    if dagster_home is not None:
        for path in _walk(dagster_home):
            if not _is_side_file(path):
                relative = path.relative_to(dagster_home).as_posix()
                plan.append((path, f"dagster/{relative}", _kind(path), path.stat().st_size))
    external = {}
    if settings.mlflow_tracking_uri and not settings.mlflow_tracking_uri.startswith(f"sqlite:///{home}"):
        external["mlflow"] = f"{settings.mlflow_tracking_uri}: back up the MLflow server and its artifact store"
    return plan, snapshot, external


def _separate_dagster_home(home: Path) -> Path | None:
    configured = os.environ.get("DAGSTER_HOME")
    if not configured:
        return None
    path = Path(configured).expanduser().resolve()
    if path == home or home in path.parents or not path.is_dir():
        return None
    return path


def _walk(root: Path):
    for folder, folders, names in os.walk(root):
        folders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _is_side_file(path: Path) -> bool:
    return (
        any(path.name.endswith(suffix) for suffix in SQLITE_SIDE_FILES)
        and path.with_name(path.name.rsplit("-", 1)[0]).exists()
    )


def _kind(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head[8:12] == DUCKDB_MAGIC:
        return "duckdb"
    return "file"


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup, all pages in one step (one read transaction): consistent while others write."""
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()


def _duckdb_copy(source: Path, target: Path) -> None:
    """Another DuckDB file (not the warehouse): copied while a read-only connection holds it, which DuckDB grants
    only when no process writes it."""
    import duckdb

    try:
        with duckdb.connect(str(source), read_only=True):
            shutil.copyfile(source, target)
    except duckdb.IOException as error:
        raise BackupError(f"{source} is being written by another process ({error}): back up when it is idle") from None


def _copy_file(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)


def _settings_record(settings: Settings) -> dict:
    """The settings in effect, for the record (secrets and passwords in URLs masked); restore does not apply them."""
    from aioa.ops.logs import scrub

    recorded = json.loads(settings.model_dump_json())
    return {name: scrub(value) if isinstance(value, str) else value for name, value in recorded.items()}


# ---------------------------------------------------------------- verify


@dataclass
class VerifyReport:
    path: str
    ok: bool
    files: int
    bytes: int
    snapshot_version: str | None
    problems: list[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def verify(source: Path, *, on_progress: ProgressCallback | None = None) -> VerifyReport:
    """Recompute every file's size and SHA-256 against the manifest (missing, changed and unexpected files)."""
    started = time.perf_counter()
    source = source.resolve()
    try:
        manifest = BackupManifest.read(source)
    except BackupCorrupted as error:
        return VerifyReport(str(source), False, 0, 0, None, error.problems, round(time.perf_counter() - started, 3))
    problems = []
    total = sum(entry.size for entry in manifest.files)
    done = 0
    for entry in manifest.files:
        path = source / entry.path
        if not path.is_file():
            problems.append(f"{entry.path} is missing")
        elif path.stat().st_size != entry.size:
            problems.append(f"{entry.path} has {path.stat().st_size} bytes, the manifest says {entry.size}")
        elif _sha256(path) != entry.sha256:
            problems.append(f"{entry.path} does not match its checksum")
        done += entry.size
        if on_progress:
            on_progress(done, total)
    return VerifyReport(
        str(source),
        not problems,
        len(manifest.files),
        total,
        manifest.snapshot_version,
        problems,
        round(time.perf_counter() - started, 3),
    )


# ---------------------------------------------------------------- restore


@dataclass
class RestoreReport:
    path: str
    home: str
    snapshot_version: str | None
    files: int
    bytes: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def restore(source: Path, settings: Settings, *, on_progress: ProgressCallback | None = None) -> RestoreReport:
    """Restore `source` into `settings.home`, which must be empty or absent. Every file is checked against its
    checksum while it is copied into a folder beside the home; only a complete, intact copy is moved into place, so a
    damaged backup changes nothing."""
    started = time.perf_counter()
    source = source.resolve()
    manifest = BackupManifest.read(source)
    home = settings.home.resolve()
    _require_empty(home, "AIOA_HOME")
    dagster_target = None
    if any(entry.path.startswith("dagster/") for entry in manifest.files):
        configured = os.environ.get("DAGSTER_HOME")
        if not configured:
            raise BackupError(
                f"this backup holds a separate Dagster home ({manifest.dagster_home}): set DAGSTER_HOME to an empty "
                "folder for it and run the restore again"
            )
        dagster_target = Path(configured).expanduser().resolve()
        _require_empty(dagster_target, "DAGSTER_HOME")
    dump_targets = _dump_targets(manifest, settings)
    staging = {
        "home": home.with_name(f".{home.name}.restoring-{os.getpid()}"),
        "dagster": dagster_target.with_name(f".{dagster_target.name}.restoring-{os.getpid()}")
        if dagster_target
        else None,
    }
    problems: list[str] = []
    total = sum(entry.size for entry in manifest.files)
    done = 0
    try:
        for folder in staging.values():
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
        for entry in manifest.files:
            root, _, relative = entry.path.partition("/")
            source_file = source / entry.path
            if not source_file.is_file():
                problems.append(f"{entry.path} is missing")
                continue
            if root == "postgres":  # restored from the backup folder itself, after every checksum matched
                if _sha256(source_file) != entry.sha256:
                    problems.append(f"{entry.path} does not match its checksum")
                continue
            target = staging[root] / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if _copy_hashing(source_file, target) != entry.sha256:
                problems.append(f"{entry.path} does not match its checksum")
            done += entry.size
            if on_progress:
                on_progress(done, total)
        if problems:
            raise BackupCorrupted(source, problems)
        for name, url in dump_targets.items():
            _pg_restore(source / "postgres" / f"{name}.dump", url)
        if manifest.snapshot_file:
            _install_warehouse(staging["home"], manifest, settings)
        _fsync_tree(staging["home"])
        for root, folder in (("home", home), ("dagster", dagster_target)):
            if folder is not None:
                if folder.exists():
                    folder.rmdir()  # empty (checked above)
                os.replace(staging[root], folder)
    finally:
        for folder in staging.values():
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    return RestoreReport(
        str(source),
        str(home),
        manifest.snapshot_version,
        len(manifest.files),
        total,
        round(time.perf_counter() - started, 3),
    )


def _require_empty(folder: Path, name: str) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(
            f"{name} {folder} is not empty: restore only into an empty folder (point {name} at a new one); "
            "nothing was changed"
        )


def _dump_targets(manifest: BackupManifest, settings: Settings) -> dict[str, str]:
    """Where each dump of the backup goes: the restoring settings' database for the same parts, which must be
    configured and empty."""
    targets = server_databases(settings)
    by_part = {part: url for name, url in targets.items() for part in name.split("+")}
    chosen = {}
    for name in manifest.databases:
        urls = {by_part.get(part) for part in name.split("+")}
        if None in urls or len(urls) != 1:
            raise BackupError(
                f"this backup holds a PostgreSQL dump of the {name} store ({manifest.databases[name]}): set "
                "AIOA_DATABASE_URL (accounts) / AIOA_WAREHOUSE=postgres and AIOA_POSTGRES_DSN (warehouse) to an empty "
                "database and run the restore again; nothing was changed"
            )
        url = urls.pop()
        tables = _user_tables(url)
        if tables:
            raise BackupError(
                f"database {_without_password(url)} is not empty ({tables} tables): restore only into an empty "
                "database (createdb a new one); nothing was changed"
            )
        chosen[name] = url
    return chosen


def _user_tables(url: str) -> int:
    import psycopg2

    try:
        connection = psycopg2.connect(url)
    except psycopg2.Error as error:
        raise BackupError(f"cannot connect to {_without_password(url)}: {str(error).strip()[:300]}") from None
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select count(*) from information_schema.tables "
                "where table_schema not in ('pg_catalog', 'information_schema')"
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()


def _pg_restore(dump: Path, url: str) -> None:
    done = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url}",
            str(dump),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore into {_without_password(url)} failed (rolled back): {done.stderr.strip()[:500]}")


def _install_warehouse(staged_home: Path, manifest: BackupManifest, settings: Settings) -> None:
    """The snapshot becomes both the current read snapshot and the working warehouse (identical content)."""
    snapshots = staged_home / "snapshots"
    shutil.copyfile(snapshots / manifest.snapshot_file, staged_home / "warehouse.duckdb")
    from aioa.archive.snapshot import snapshot_to_warehouse

    snapshot_to_warehouse(
        staged_home / "warehouse.duckdb", settings
    )  # archived calls: a view in snapshots, not in the warehouse
    pointer = {
        "version": manifest.snapshot_version,
        "file": manifest.snapshot_file,
        "published_at": datetime.now(UTC).isoformat(),
        "restored_from": manifest.created_at,
    }
    _write_json(snapshots / "CURRENT", pointer)


# ---------------------------------------------------------------- helpers


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashing(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, default=str))


def _fsync_tree(root: Path) -> None:
    for path in _walk(root):
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
