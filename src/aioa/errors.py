"""Errors users see: a short message, what to do next and a reference id; the traceback goes to the error log.

The CLI and the app both call `report_error`, so a user quoting the reference id lets an operator find the full
details in `<AIOA_HOME>/logs/errors.log`.
"""

from __future__ import annotations

import logging
import secrets
import sys
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path

from aioa.settings import get_settings

LOGGER_NAME = "aioa.errors"
GENERIC_NEXT_STEP = "Run `aioa doctor` to check the set-up; if it persists, report the reference id to your operator."


@dataclass(frozen=True)
class UserError:
    reference: str
    message: str  # what happened, in one line, without internals
    next_step: str  # what the user can do about it
    exit_code: int

    def __str__(self) -> str:
        return f"{self.message} {self.next_step} (reference {self.reference})"


def error_log_path() -> Path:
    return get_settings().home / "logs" / "errors.log"


def report_error(error: BaseException, *, where: str) -> UserError:
    """Log `error` with its traceback under a new reference id and return what to show the user."""
    reference = secrets.token_hex(4)
    _logger().error("reference=%s where=%s", reference, where, exc_info=error)
    message, next_step, exit_code = _describe(error)
    return UserError(reference, message, next_step, exit_code)


def _describe(error: BaseException) -> tuple[str, str, int]:
    """The user-facing message for the error classes we know; anything else is 'unexpected'."""
    import duckdb
    import pydantic

    from aioa.warehouse.connection import QueryTimeout
    from aioa.warehouse.encryption import WarehouseKeyError
    from aioa.warehouse.snapshots import NoSnapshotError

    if isinstance(error, QueryTimeout):
        return (f"{error}.", "Narrow the question or date range, or raise AIOA_READER_STATEMENT_TIMEOUT_S.", 5)
    if isinstance(error, NoSnapshotError):
        return ("No data yet.", "Run `aioa run` (your logs) or `make demo` (sample data) first.", 2)
    if isinstance(error, WarehouseKeyError):  # its message names the file and the setting, never the key
        return (f"The warehouse cannot be opened: {error}.", "See 'Encryption at rest' in docs/operations.md.", 2)
    if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
        return (
            "The warehouse is locked by another process.",
            "Another ingest or the pipeline is writing; wait for it to finish and retry.",
            3,
        )
    if _is_server_unreachable(error):
        return (
            "The PostgreSQL server cannot be reached or refused the connection.",
            "Check that it runs and that AIOA_POSTGRES_DSN (server mode) or AIOA_DATABASE_URL (accounts) point to it, "
            "then retry.",
            3,
        )
    if isinstance(error, PermissionError):
        return (
            f"Permission denied: {getattr(error, 'filename', None) or 'a file under AIOA_HOME'}.",
            "Check that this user may read the logs and write AIOA_HOME.",
            4,
        )
    if isinstance(error, FileNotFoundError):
        return (
            f"Not found: {getattr(error, 'filename', None) or 'a file'}.",
            "Check the path (and AIOA_HOME), then retry.",
            2,
        )
    if isinstance(error, pydantic.ValidationError):  # a settings or config file is invalid
        first = str(error).splitlines()
        return (
            f"A configuration value is invalid: {' '.join(first[:3])[:300]}.",
            "Fix the setting (AIOA_* variables, attribution.yaml or price-overrides.yaml) and retry.",
            2,
        )
    if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        return (
            "The operation ran out of memory.",
            "Raise AIOA_DUCKDB_MEMORY_LIMIT or narrow the date range, then retry.",
            5,
        )
    return (f"Unexpected error ({type(error).__name__}).", GENERIC_NEXT_STEP, 1)


def _is_server_unreachable(error: BaseException) -> bool:
    """A PostgreSQL connection that could not be made or was cut (psycopg2's OperationalError without a server
    code, or a connection-class one; SQLAlchemy's wrapping too). A statement the server cancelled is not one of
    them. Checked only when psycopg2 is loaded."""
    psycopg2 = sys.modules.get("psycopg2")
    original = getattr(error, "orig", None) or error
    if psycopg2 is None or not isinstance(original, psycopg2.OperationalError):
        return False
    code = original.pgcode
    return code is None or code.startswith("08") or code in {"57P01", "57P02", "57P03"}


def _logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    path = error_log_path()
    if not any(getattr(handler, "baseFilename", None) == str(path) for handler in logger.handlers):
        for handler in list(logger.handlers):  # AIOA_HOME changed (tests, tenants): log where it points now
            logger.removeHandler(handler)
            handler.close()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3)
        except OSError:
            handler = logging.NullHandler()  # never let logging an error raise another one
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
