"""dbt-duckdb plugin: the Parquet archive (`AIOA_DBT_ARCHIVE_URL`, set from AIOA_ARCHIVE_URL by `dbt_env`) is
readable on dbt's connection as `aioaarchive://`, read-only, so the `with_archive` macro can union the archived raw
rows and facts into the models that must see them (a rebuild from raw, the dimensions and tool aggregates)."""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        url = os.environ.get("AIOA_DBT_ARCHIVE_URL")
        if not url:
            return
        import fsspec

        from aioa.archive.store import ReadOnlyArchiveFileSystem, register

        target, root = fsspec.core.url_to_fs(url)
        register(conn, ReadOnlyArchiveFileSystem(path=root, fs=target, skip_instance_cache=True))
