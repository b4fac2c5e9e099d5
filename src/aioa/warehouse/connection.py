"""DuckDB connections to the warehouse under AIOA_HOME."""

from __future__ import annotations

from pathlib import Path

import duckdb

from aioa.settings import Settings, get_settings
from aioa.warehouse.schema import all_ddl
from aioa.warehouse.sql import execute_script


def connect(settings: Settings | None = None, *, read_only: bool = False, path: Path | None = None):
    """Open the warehouse. Writers create the schema; readers get a read-only connection."""
    settings = settings or get_settings()
    path = path or settings.warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": settings.duckdb_memory_limit}
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    connection = duckdb.connect(str(path), read_only=read_only, config=config)
    if not read_only:
        ensure_schema(connection)
    return connection


def ensure_schema(connection: duckdb.DuckDBPyConnection) -> None:
    execute_script(connection, all_ddl())
