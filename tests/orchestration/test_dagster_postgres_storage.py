"""Dagster's own storage can live on PostgreSQL (dagster-postgres) for a shared deployment."""

from __future__ import annotations

from contextlib import closing

import pytest
from dagster import DagsterInstance, asset, materialize

pytestmark = pytest.mark.postgres
DATABASE = "aioa_dagster_storage_test"


@asset
def tiny() -> int:
    return 1


def test_runs_and_materialisations_are_stored_in_postgres(tmp_path):
    import psycopg2

    from tests.conftest import PG_SERVER, pg_admin

    pg_admin(f"drop database if exists {DATABASE} with (force)")  # starts the server if it is stopped
    pg_admin(f"create database {DATABASE}")
    (tmp_path / "dagster.yaml").write_text(f"""
storage:
  postgres:
    postgres_db:
      hostname: 127.0.0.1
      port: 5432
      username: postgres
      db_name: {DATABASE}
""")
    try:
        with DagsterInstance.from_config(str(tmp_path)) as instance:
            result = materialize([tiny], instance=instance)
            assert result.success
            assert instance.get_latest_materialization_event(tiny.key) is not None
        with (
            closing(psycopg2.connect(f"{PG_SERVER}/{DATABASE}")) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("select count(*) from runs")
            assert cursor.fetchone()[0] == 1
    finally:
        pg_admin(f"drop database if exists {DATABASE} with (force)")
