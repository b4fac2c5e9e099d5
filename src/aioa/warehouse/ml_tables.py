"""ML output tables (`ml.<table>` in the warehouse): written by the writer, read by everyone from the snapshot.

Forecasts, anomalies and routing results are stored beside the marts so that the app, the notebooks and the
natural-language query read them through the same tenant-scoped data-access layer (`aioa.analytics.ml_table`).
Writing replaces the table in the working warehouse in one transaction and publishes a new read snapshot.
"""

from __future__ import annotations

import pandas as pd

from aioa.settings import Settings

ML_TABLES = frozenset({"forecasts", "forecast_backtests", "budget_projections", "anomalies", "routing_evaluation",
                       "routing_decisions", "router_experiments"})


def write_ml_tables(settings: Settings, tables: dict[str, pd.DataFrame], *, publish: bool = True) -> str | None:
    """Replace each `ml.<name>` with its frame in one transaction; publish a snapshot (DuckDB) and return its version."""
    unknown = set(tables) - ML_TABLES
    if unknown:
        raise ValueError(f"unknown ML tables {sorted(unknown)}; add them to ML_TABLES")
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


def read_ml_table(settings: Settings, name: str) -> pd.DataFrame | None:
    """`ml.<name>` from the current snapshot (all orgs: for ML code, not for tenant-facing readers), or None."""
    if name not in ML_TABLES:
        raise ValueError(f"unknown ML table {name}")
    from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

    try:
        connection, _ = open_snapshot(settings)
    except NoSnapshotError:
        return None
    with connection:
        exists = connection.execute("select count(*) from information_schema.tables "
                                    "where table_schema = 'ml' and table_name = ?", [name]).fetchone()[0]
        return connection.execute(f"select * from ml.{name}").df() if exists else None


def _write_postgres(settings: Settings, tables: dict[str, pd.DataFrame]) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(settings.postgres_dsn.replace("postgresql://", "postgresql+psycopg2://", 1))
    schema = f"{settings.postgres_schema_prefix}ml"
    with engine.begin() as connection:
        connection.exec_driver_sql(f'create schema if not exists "{schema}"')
        for name, frame in tables.items():
            frame.to_sql(name, connection, schema=schema, if_exists="replace", index=False)
