"""PostgreSQL mode: the same pipeline on the real server gives every mart identical totals to DuckDB."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from aioa.pipeline import SourcePaths, run_pipeline
from aioa.settings import Settings
from tests.warehouse.conftest import mart_totals

pytestmark = pytest.mark.postgres
DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _ensure_server() -> None:
    import psycopg2

    try:
        psycopg2.connect(DSN, connect_timeout=3).close()
    except psycopg2.OperationalError:
        version = next(Path("/etc/postgresql").iterdir()).name
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
        psycopg2.connect(DSN, connect_timeout=10).close()


@pytest.fixture
def pg_settings(tmp_path, sample_dir):
    _ensure_server()
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    home = tmp_path / "pg-home"
    home.mkdir()
    shutil.copy(sample_dir / "attribution.yaml", home / "attribution.yaml")
    settings = Settings(home=home, warehouse="postgres", postgres_dsn=DSN, postgres_schema_prefix=prefix)
    yield settings
    import psycopg2

    with closing(psycopg2.connect(DSN)) as connection, connection, connection.cursor() as cursor:
        for layer in ("raw", "staging", "intermediate", "marts", "quality"):
            cursor.execute(f"drop schema if exists {prefix}{layer} cascade")


def test_every_mart_has_identical_totals_on_duckdb_and_postgres(pg_settings, built_home, sample_dir):
    import duckdb

    from aioa.warehouse.session import PostgresSession

    report = run_pipeline(pg_settings, SourcePaths.from_sample(sample_dir), include_ml=False)
    assert report.status == "ok"
    copy_step = next(step for step in report.steps if step["step"] == "raw tables")  # the one sync, before dbt
    assert copy_step["details"]["raw/llm_calls"]["copied_to_postgres"] > 1000  # loaded with COPY

    session = PostgresSession(pg_settings)
    postgres = mart_totals(lambda sql: tuple(session.frame(sql).iloc[0]))
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as connection:
        duck = mart_totals(lambda sql: connection.execute(sql.format(marts="marts")).fetchone())
    assert postgres == duck

    checks = session.frame(
        "select count(*) as failed from {quality}.check_results where not success and severity = 'error'"
    )
    assert int(checks["failed"][0]) == 0

    # a second run copies nothing new and changes nothing
    again = run_pipeline(pg_settings, SourcePaths.from_sample(sample_dir), include_ml=False)
    copied = next(step for step in again.steps if step["step"] == "raw tables")["details"]
    assert copied["raw/llm_calls"]["copied_to_postgres"] == 0
    assert mart_totals(lambda sql: tuple(session.frame(sql).iloc[0])) == duck
