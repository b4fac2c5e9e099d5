"""`aioa doctor --json`'s operations part: each component's status and the service-level objectives with the error
budget left.

Objectives: availability 99.9% (answers that are not 5xx), p95 latency of `/v1` requests under 1 s, data fresher
than AIOA_FRESHNESS_HOURS. Availability and latency are read from the running API's `/metrics` (AIOA_API_URL), so
their window is the API process's lifetime; the Prometheus rules in deploy/prometheus/ compute the same objectives over
30 days. Freshness is read from the snapshot under AIOA_HOME.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime

from aioa.settings import Settings

AVAILABILITY_TARGET = 0.999
P95_LATENCY_TARGET_S = 1.0
PROBE_TIMEOUT_S = 2.0
COUNTED_PREFIX = "/v1/"  # the API proper, as in the Prometheus rules: not probes, scrapes or unmatched paths


def operations_status(settings: Settings) -> dict:
    api_metrics, api_detail = _scrape_api(settings)
    return {
        "components": [
            _api_component(settings, api_detail),
            _snapshot_component(settings),
            _identity_component(settings),
            _pipeline_component(settings),
            _mlflow_component(settings),
            *([_redis_component(settings)] if settings.redis_url else []),
        ],
        "slos": [*_request_slos(api_metrics), _freshness_slo(settings)],
    }


def _component(name: str, status: str, detail: str) -> dict:
    return {"name": name, "status": status, "detail": detail}


# ---------------------------------------------------------------- components


def _scrape_api(settings: Settings) -> tuple[list | None, str]:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    url = settings.api_url.rstrip("/")
    try:
        answer = httpx.get(f"{url}/metrics", timeout=PROBE_TIMEOUT_S)
        answer.raise_for_status()
        ready = httpx.get(f"{url}/readyz", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as error:
        return None, f"{url} not reachable ({type(error).__name__})"
    families = list(text_string_to_metric_families(answer.text))
    return families, f"{url} {ready.json().get('status', ready.status_code)}"


def _api_component(settings: Settings, detail: str) -> dict:
    if "not reachable" in detail:
        return _component("api", "unknown", detail + ": start it with `aioa serve` or set AIOA_API_URL")
    return _component("api", "ok" if detail.endswith(" ready") else "error", detail)


def _snapshot_component(settings: Settings) -> dict:
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot

    try:
        version, path = current_snapshot(settings)
    except NoSnapshotError as error:
        return _component("snapshot", "error", str(error))
    if not path.exists():
        return _component("snapshot", "error", f"CURRENT names {path.name}, which is missing")
    return _component("snapshot", "ok", f"{version} ({path.stat().st_size / 1e6:,.1f} MB)")


def _identity_component(settings: Settings) -> dict:
    if settings.database_url is None and not (settings.home / "identity.db").exists():
        return _component("identity store", "warn", "no accounts yet: `aioa users add` or `aioa users demo`")
    try:
        from sqlalchemy import text

        from aioa.identity.store import engine_for

        with engine_for(settings).connect() as connection:
            users = connection.execute(text("select count(*) from users")).scalar_one()
    except Exception as error:  # noqa: BLE001 - any failure to answer is the status
        return _component("identity store", "error", f"{type(error).__name__}: {str(error)[:200]}")
    return _component("identity store", "ok", f"{users} account(s)")


def _pipeline_component(settings: Settings) -> dict:
    from aioa.pipeline import last_report

    report = last_report(settings)
    if report is None:
        return _component("pipeline", "warn", "no run yet: `aioa run`")
    if report["status"] != "ok":
        return _component("pipeline", "error", f"last run failed at {report.get('failed_step')}")
    return _component("pipeline", "ok", f"last run ok at {report['started_at'][:19]}")


def _mlflow_component(settings: Settings) -> dict:
    if settings.mlflow_tracking_uri:
        return _component("mlflow", "ok", f"external tracking server {settings.mlflow_tracking_uri.split('@')[-1]}")
    store = settings.home / "mlflow" / "mlflow.db"
    return _component("mlflow", "ok" if store.exists() else "warn", str(store) if store.exists() else "no runs yet")


def _redis_component(settings: Settings) -> dict:
    try:
        import redis

        redis.Redis.from_url(settings.redis_url, socket_timeout=PROBE_TIMEOUT_S).ping()
    except Exception as error:  # noqa: BLE001
        return _component("redis", "error", f"{type(error).__name__}")
    return _component("redis", "ok", "answers PING")


# ---------------------------------------------------------------- objectives


def _request_slos(families: list | None) -> list[dict]:
    window = "since the API process started (30-day windows: deploy/prometheus/alerts.yaml)"
    if families is None:
        return [
            {"name": "availability", "target": AVAILABILITY_TARGET, "status": "unknown", "window": window},
            {"name": "p95 latency", "target_s": P95_LATENCY_TARGET_S, "status": "unknown", "window": window},
        ]
    total = bad = 0.0
    buckets: dict[float, float] = {}
    for family in families:
        if family.name != "aioa_http_request_duration_seconds":
            continue
        for sample in family.samples:
            if not sample.labels.get("route", "").startswith(COUNTED_PREFIX):
                continue
            if sample.name.endswith("_count"):
                total += sample.value
                bad += sample.value if sample.labels["status"].startswith("5") else 0.0
            elif sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    availability = 1.0 if total == 0 else 1.0 - bad / total
    allowed_bad = (1.0 - AVAILABILITY_TARGET) * total
    budget_left = 1.0 if total == 0 else 1.0 - bad / allowed_bad if allowed_bad else 0.0
    p95 = _quantile_upper_bound(buckets, total, 0.95)
    return [
        {
            "name": "availability",
            "target": AVAILABILITY_TARGET,
            "value": round(availability, 6),
            "requests": int(total),
            "errors": int(bad),
            "error_budget_left": round(budget_left, 4),
            "status": "ok" if budget_left > 0 else "error",
            "window": window,
        },
        {
            "name": "p95 latency",
            "target_s": P95_LATENCY_TARGET_S,
            "value_s_at_most": p95,
            "status": "ok" if p95 is None or p95 <= P95_LATENCY_TARGET_S else "error",
            "window": window,
        },
    ]


def _quantile_upper_bound(buckets: dict[float, float], total: float, quantile: float) -> float | None:
    """The smallest histogram bucket bound under which `quantile` of the requests fall (cumulative buckets)."""
    if not total:
        return None
    for bound in sorted(buckets):
        if buckets[bound] >= quantile * total:
            return None if math.isinf(bound) else bound
    return None


def _freshness_slo(settings: Settings) -> dict:
    from aioa.warehouse.snapshots import NoSnapshotError, snapshot_dir

    target_h = settings.freshness_hours
    try:
        pointer = json.loads((snapshot_dir(settings) / "CURRENT").read_text())
    except (FileNotFoundError, NoSnapshotError):
        return {"name": "freshness", "target_hours": target_h, "status": "error", "detail": "no snapshot"}
    age_h = (time.time() - datetime.fromisoformat(pointer["published_at"]).timestamp()) / 3600
    return {
        "name": "freshness",
        "target_hours": target_h,
        "snapshot_age_hours": round(age_h, 3),
        "error_budget_left": round(1.0 - age_h / target_h, 4),
        "status": "ok" if age_h <= target_h else "error",
    }
