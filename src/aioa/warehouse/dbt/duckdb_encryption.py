"""dbt-duckdb plugin for an encrypted warehouse (profile target `duckdb_encrypted`, chosen when a warehouse key is
configured): before dbt's own ATTACH, it loads the crypto and attaches the warehouse file with the key that
`aioa.warehouse.dbt.runner.dbt_env` passes as DBT_ENV_SECRET_WAREHOUSE_KEY (dbt masks such values in its logs).
dbt's ATTACH IF NOT EXISTS of the same alias then finds it attached; the key never appears in the profile."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from aioa.warehouse.encryption import DBT_KEY_VARIABLE, WarehouseKeyError, attach, load_crypto
from aioa.warehouse.sql import sql_identifier

ALIAS = "warehouse"  # the profile's `database`, as for the plain file (its name without .duckdb)


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.path = Path(plugin_config["path"])

    def update_connection_config(self, creds, config: dict[str, Any]) -> None:
        config |= {
            "autoinstall_known_extensions": "false",
            "temp_file_encryption": "true",
            "temp_directory": str(self.path) + ".tmp",
        }

    def configure_connection(self, conn) -> None:
        key = os.environ.get(DBT_KEY_VARIABLE)
        if not key:
            raise WarehouseKeyError(f"the encrypted dbt target needs the warehouse key in {DBT_KEY_VARIABLE}")
        load_crypto(conn)
        attach(conn, self.path, ALIAS, key)
        conn.execute(f"use {sql_identifier(ALIAS)}")

    def configure_cursor(self, cursor) -> None:
        cursor.execute(f"use {sql_identifier(ALIAS)}")
