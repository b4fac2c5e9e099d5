"""The identity store: one SQLAlchemy engine per URL (SQLite under AIOA_HOME, or PostgreSQL), migrated on first use.

SQLite runs in WAL mode with a busy timeout, and a writing session starts with `BEGIN IMMEDIATE`: two processes
that read-then-write (sign-in counters, refresh-token rotation, the audit tail) queue for the write lock instead of
failing half-way. PostgreSQL callers that must serialize take a row lock or an advisory lock themselves.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from aioa.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD_REVISION = "0007"  # the newest file in migrations/versions (a test checks); a store there skips Alembic's import
WRITE_LOCK = "aioa_write_lock"  # execution option: start the SQLite transaction with BEGIN IMMEDIATE
_MIGRATION_LOCK_ID = 0x41494F41  # PostgreSQL advisory lock key ("AIOA") held while migrating

_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()
_writes = itertools.count(1)  # bumped by every write committed here: the generation `lookups` caches under
_generation = 0


def engine_for(settings: Settings) -> Engine:
    """The engine for `settings.identity_url`, created and migrated to the latest revision on first use."""
    url = settings.identity_url
    engine = _engines.get(url)
    if engine is not None:
        return engine
    with _lock:
        if url not in _engines:
            engine = _create(url)
            if _revision(engine) != HEAD_REVISION:
                _upgrade(engine)
            _engines[url] = engine
            _sessionmakers[url] = sessionmaker(engine, expire_on_commit=False)
        return _engines[url]


def migrate(settings: Settings) -> None:
    """Alembic `upgrade head` on the store (idempotent; engine_for runs it on first use)."""
    _upgrade(engine_for(settings))


@contextmanager
def session_scope(settings: Settings, *, write: bool = True) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error. `write=False` for read-only work
    (on SQLite it does not queue for the write lock). A committed write moves `generation()` on."""
    engine_for(settings)
    session = _sessionmakers[settings.identity_url]()
    try:
        if write:
            session.connection(execution_options={WRITE_LOCK: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if write:
            _bump_generation()


def generation() -> int:
    """A number that changes whenever this process commits (or attempts) a write to any identity store."""
    return _generation


def _bump_generation() -> None:
    global _generation
    _generation = next(_writes)


def dispose_all() -> None:
    """Close every pooled connection (tests that drop a database, and forked workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()
    _bump_generation()  # rows cached from a store that may be dropped now


def _create(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    database = url.split("///", 1)[1] if "///" in url else ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below), not the sqlite3 module
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit is durable against a process crash, and against power loss up to the last
        # checkpoint; it saves an fsync per audit append (one per API request).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITE_LOCK) else "BEGIN")

    return engine


def _revision(engine: Engine) -> str | None:
    """The store's migration revision (None for a new store), read without importing Alembic."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def _upgrade(engine: Engine) -> None:
    """Run the migrations in one transaction that holds the store's write lock, so two processes starting on a
    fresh store do not both create the tables."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(**{WRITE_LOCK: True}) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
