"""The identity store's migrations: one revision builds exactly the models' tables, on SQLite here and on the real
PostgreSQL server in test_postgres.py."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from aioa.analytics.kpi_models import KPI_TABLES
from aioa.collab.models import COLLAB_TABLES
from aioa.dashboards.models import DASHBOARD_TABLES
from aioa.identity import clock, store
from aioa.identity.models import Base
from aioa.reports.render.models import REPORT_TABLES
from aioa.rules.models import RULES_TABLES

TABLES = (
    {
        "users",
        "teams",
        "api_keys",
        "refresh_tokens",
        "signing_keys",
        "signin_windows",
        "tenant_settings",
        "audit_log",
    }
    | RULES_TABLES
    | COLLAB_TABLES
    | DASHBOARD_TABLES
    | KPI_TABLES
    | REPORT_TABLES
)


def test_head_revision_constant_matches_the_migrations():
    config = Config()
    config.set_main_option("script_location", str(store.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [store.HEAD_REVISION]


def assert_migrated_like_the_models(engine) -> None:
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == store.HEAD_REVISION
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_sqlite_store_is_created_under_home_and_matches_the_models(ids):
    engine = store.engine_for(ids)
    assert ids.identity_url == f"sqlite:///{ids.home / 'identity.db'}"
    assert (ids.home / "identity.db").exists()
    assert_migrated_like_the_models(engine)
    store.migrate(ids)  # idempotent
    assert_migrated_like_the_models(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_session_scope_rolls_back_on_error(ids):
    from aioa.identity.models import Team

    with pytest.raises(RuntimeError), store.session_scope(ids) as session:
        session.add(Team(org_id="acme", team_id="red", created_at=clock.now()))
        session.flush()
        raise RuntimeError("boom")
    with store.session_scope(ids, write=False) as session:
        assert session.execute(text("SELECT count(*) FROM teams")).scalar() == 0
