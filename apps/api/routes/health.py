"""`/healthz` (the process answers) and `/readyz` (a snapshot is published and the identity store answers)."""

from __future__ import annotations

from apps.api.deps import SettingsDep
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot, current_version

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: published snapshot and identity store")
def readyz(settings: SettingsDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        if settings.warehouse == "postgres":  # server mode: the version PostgreSQL last published
            checks["snapshot"] = current_version(settings)
        else:
            version, path = current_snapshot(settings)
            checks["snapshot"] = version if path.exists() else f"missing file {path.name}"
    except NoSnapshotError as error:
        checks["snapshot"] = f"not ready: {error}"
    try:
        from sqlalchemy import text

        from aioa.identity.store import engine_for

        with engine_for(settings).connect() as connection:
            connection.execute(text("select 1"))
        checks["identity_store"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure to answer means not ready
        checks["identity_store"] = f"not ready: {type(error).__name__}: {str(error)[:200]}"
    ready = not any(value.startswith(("not ready", "missing")) for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks},
        status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
    )
