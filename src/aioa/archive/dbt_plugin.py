"""dbt-duckdb plugin: the Parquet archive (`AIOA_DBT_ARCHIVE_URL`, set from AIOA_ARCHIVE_URL by `dbt_env`) is
readable on dbt's connection as `aioaarchive://`, read-only, so the `with_archive` macro can union the archived raw
rows and facts into the models that must see them (a rebuild from raw, the dimensions and tool aggregates). On the
encrypted target (a warehouse key configured) the archive's files are encrypted: the key dbt gets for the warehouse
(DBT_ENV_SECRET_WAREHOUSE_KEY) is added as the archive's Parquet key, which the macro names."""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        url = os.environ.get("AIOA_DBT_ARCHIVE_URL")
        if not url:
            return
        import fsspec

        from aioa.archive.filesystem import ReadOnlyArchiveFileSystem
        from aioa.archive.store import register
        from aioa.warehouse.encryption import DBT_KEY_VARIABLE

        target, root = fsspec.core.url_to_fs(url)
        key = os.environ.get(DBT_KEY_VARIABLE) or None
        register(conn, ReadOnlyArchiveFileSystem(path=root, fs=target, skip_instance_cache=True), key)
