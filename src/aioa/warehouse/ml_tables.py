"""ML output tables (`ml.<table>` in the warehouse): written by the writer, read by everyone from the snapshot.

Forecasts, anomalies and routing results are stored beside the marts so that the app, the notebooks and the
natural-language query read them through the same tenant-scoped data-access layer (`aioa.analytics.ml_table`).
Writing replaces the table in the working warehouse in one transaction and publishes a new read snapshot.

Each table either belongs to orgs (every row carries `org_id`; a reader sees its orgs' rows) or is global (built
from every org's data, e.g. the router's evaluation on the pooled handoffs): only operators
(`TenantScope.all_orgs()`) read a global table; a tenant-scoped reader gets no rows.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from aioa.settings import Settings
from aioa.warehouse.access import ROW_COLUMNS, TenantScope

ORG_TABLES = frozenset(
    {
        "forecasts",
        "forecast_backtests",
        "budget_projections",
        "anomalies",
        "routing_decisions",
        "router_experiments",
        "routing_drift",
        "capacity_forecast",
    }
)
GLOBAL_TABLES = frozenset({"routing_evaluation"})
ML_TABLES = ORG_TABLES | GLOBAL_TABLES


def _with_org_column(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Org tables must say whose each row is; an empty frame (nothing to store) gets the column."""
    if name not in ORG_TABLES or "org_id" in frame.columns:
        return frame
    if frame.empty:
        return frame.assign(org_id=pd.Series(dtype="object"))
    raise ValueError(f"ml.{name} holds per-org results: its frame needs an org_id column")


def _with_text_for_null_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """An object column holding only nulls (e.g. `project_id` of a run with org-level series only) is text: DuckDB
    would infer INTEGER from it, and 1.5 reads that back as pandas' nullable Int32, whose `pd.NA` raises in a
    boolean context (`row.project_id or "(org)"`)."""
    null_text = [column for column in frame.columns if frame[column].dtype == object and frame[column].isna().all()]
    return frame.astype(dict.fromkeys(null_text, "string")) if null_text else frame


def write_ml_tables(settings: Settings, tables: dict[str, pd.DataFrame], *, publish: bool = True) -> str | None:
    """Replace each `ml.<name>` with its frame in one transaction; publish a snapshot (DuckDB) and return its version."""
    unknown = set(tables) - ML_TABLES
    if unknown:
        raise ValueError(f"unknown ML tables {sorted(unknown)}; add them to ORG_TABLES or GLOBAL_TABLES")
    tables = {name: _with_text_for_null_columns(_with_org_column(name, frame)) for name, frame in tables.items()}
    if settings.warehouse == "postgres":
        _write_postgres(settings, tables)
        return None
    from aioa.warehouse.connection import connect

    connection = connect(settings)
    try:
        connection.execute("begin")
        connection.execute("create schema if not exists ml")
        for name, frame in tables.items():
            connection.register("ml_frame", frame)
            connection.execute(f"create or replace table ml.{name} as select * from ml_frame")
            connection.unregister("ml_frame")
        connection.execute("commit")
        connection.execute("checkpoint")
    finally:
        connection.close()
    if not publish:
        return None
    from aioa.warehouse.snapshots import publish_snapshot

    return publish_snapshot(settings)


def read_ml_table(settings: Settings, name: str, scope: TenantScope, *, published: bool = True) -> pd.DataFrame | None:
    """`ml.<name>` from the current snapshot (or, `published=False`, from the working warehouse a pipeline run is
    building: see `open_marts`), as `scope` may see it (ML code passes `TenantScope.all_orgs()`), or None when the
    table has not been built."""
    if name not in ML_TABLES:
        raise ValueError(f"unknown ML table {name}")
    from aioa.warehouse.snapshots import NoSnapshotError, open_marts

    try:
        connection, _ = open_marts(settings, published=published)
    except NoSnapshotError:
        return None
    with connection:
        return scoped_ml_table(connection, name, scope)


def scoped_ml_table(connection: duckdb.DuckDBPyConnection, name: str, scope: TenantScope) -> pd.DataFrame | None:
    """The rows of `ml.<name>` that `scope` may read, or None if the table is not built. A global table (or an org
    table stored without `org_id` by an older version) is for operators only: a scoped reader gets no rows."""
    if name not in ML_TABLES:
        raise ValueError(f"unknown ML table {name}")
    cursor = connection.cursor()
    columns = {
        column
        for (column,) in cursor.execute(
            "select column_name from information_schema.columns where table_schema = 'ml' and table_name = ?", [name]
        ).fetchall()
    }
    if not columns:
        return None
    if name in ORG_TABLES and "org_id" in columns:
        # a narrowed scope reads the rows of its teams/users (e.g. its users' anomalies); a table with neither column
        # (forecasts per org) gives it none
        tenant_sql, params = scope.filter_sql("org_id", row_columns=frozenset(columns) & ROW_COLUMNS)
    else:
        tenant_sql, params = "$all_orgs", {"all_orgs": scope.org_ids is None}
    return cursor.execute(f"select * from ml.{name} where {tenant_sql}", params).df()


def _write_postgres(settings: Settings, tables: dict[str, pd.DataFrame]) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(settings.postgres_dsn.replace("postgresql://", "postgresql+psycopg2://", 1))
    schema = f"{settings.postgres_schema_prefix}ml"
    with engine.begin() as connection:
        connection.exec_driver_sql(f'create schema if not exists "{schema}"')
        for name, frame in tables.items():
            frame.to_sql(name, connection, schema=schema, if_exists="replace", index=False)
