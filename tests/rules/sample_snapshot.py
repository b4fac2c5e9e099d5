"""A tiny published snapshot for rule tests: usage days (the data's last day) and ml.anomalies rows of two orgs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from aioa.settings import Settings
from aioa.warehouse.snapshots import publish_snapshot

LAST_DAY = date(2026, 11, 20)


def write_snapshot(settings: Settings, anomalies: list[dict]) -> None:
    """A warehouse with the usage days (for the data's last day) and ml.anomalies, published as a snapshot."""
    settings.home.mkdir(parents=True, exist_ok=True)
    usage = pd.DataFrame(
        {"day": [LAST_DAY - timedelta(days=n) for n in range(10)] * 2, "org_id": ["acme"] * 10 + ["globex"] * 10}
    )
    frame = pd.DataFrame(anomalies)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("create schema if not exists marts")
        connection.execute("create schema if not exists ml")
        connection.register("usage_frame", usage)
        connection.register("anomaly_frame", frame)
        connection.execute("create or replace table marts.agg_usage_daily as select * from usage_frame")
        connection.execute("create or replace table ml.anomalies as select * from anomaly_frame")
    publish_snapshot(settings)


def anomaly(org: str, index: int, kind: str = "runaway_agent", user: str = "bob") -> dict:
    start = datetime(2026, 11, 18) + timedelta(minutes=index)
    return {
        "org_id": org,
        "kind": kind,
        "grain": "hour",
        "start": start,
        "end": start + timedelta(hours=1),
        "metric": "calls",
        "observed": 900.0,
        "expected": 100.0,
        "score": 12.0,
        "driver_project": "billing",
        "driver_project_share": 0.9,
        "driver_model": "claude-opus-4-6",
        "driver_model_share": 0.8,
        "driver_user": user,
        "driver_user_share": 0.95,
        "drivers": "project billing 90%",
        "evidence": "",
        "label_kind": "runaway_agent",  # the generator's answer: a rule must never see it
    }
