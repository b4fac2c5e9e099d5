"""Typed dependencies every route declares in its signature: who asks (`PrincipalDep`), may they (`require`), which
rows (`ScopeDep`), and a read connection to the published snapshot (`ReaderDep`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated

from apps.api.reader import snapshot_connection
from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import OAuth2PasswordBearer

from aioa.identity.permissions import PERMISSIONS, Forbidden, check, scope_for
from aioa.identity.principal import Principal, local_operator
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.connection import TimedReader
from aioa.warehouse.snapshots import NoSnapshotError

# Declared for OpenAPI (the /docs "Authorize" button signs in with the password flow); the header itself is read
# by `aioa.identity.authn.authenticate`, which also takes API keys (`Bearer aioa_…`).
bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


# Dependencies that only compute (no I/O) are `async def`: FastAPI runs them on the event loop instead of handing
# each to the thread pool (a hop costs more than their work).
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def too_many(retry_after_s: float | None, what: str) -> HTTPException:
    seconds = 60 if retry_after_s is None else max(1, math.ceil(retry_after_s))
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, f"{what}: retry in {seconds} s", headers={"Retry-After": str(seconds)}
    )


def get_principal(request: Request, settings: SettingsDep, _token: Annotated[str | None, Depends(bearer)]) -> Principal:
    """The caller, from the `Authorization` header (or the local operator with AIOA_AUTH=off), rate-limited per
    key/user and per org."""
    if settings.auth == "off":
        principal = local_operator()
    else:
        from aioa.identity.authn import authenticate
        from aioa.identity.errors import Unauthenticated

        try:
            principal = authenticate(settings, request.headers.get("authorization"))
        except Unauthenticated as error:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, str(error) or "not signed in", headers={"WWW-Authenticate": "Bearer"}
            ) from None
    request.state.principal = principal
    if not principal.is_operator:
        _rate_limit(settings, principal)
    return principal


def _rate_limit(settings: Settings, principal: Principal) -> None:
    from aioa.tenants.quotas import QuotaUnavailable, take_decision
    from aioa.tenants.settings_doc import quota_limits

    limits = quota_limits(settings, principal.org_id)  # the org's overrides over the settings' defaults
    buckets = [
        (f"api:{principal.kind}:{principal.subject}", limits.api_requests_per_minute_per_key, "request rate"),
        (f"api:org:{principal.org_id}", limits.api_requests_per_minute_per_tenant, "your org's request rate"),
    ]
    try:
        for key, per_minute, what in buckets:
            decision = take_decision(settings, key, per_minute)
            if not decision.allowed:
                raise too_many(decision.retry_after_s, f"{what} limit ({per_minute}/min) reached")
    except QuotaUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"rate limits unavailable: {error}") from None


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: str):
    """`Depends` that lets through principals holding `permission` (else 403): `dependencies=[require("usage:read")]`
    or `principal: Annotated[Principal, require("ask:run")]`."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    async def holds_permission(principal: PrincipalDep) -> Principal:
        try:
            check(principal, permission)
        except Forbidden as error:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
        return principal

    return Depends(holds_permission)


OrgParam = Annotated[
    list[str],
    Query(
        description="Only these orgs (repeatable). A principal may name only its own org (another gives 403); "
        "without it: the principal's org (operators: every org)."
    ),
]


async def get_scope(request: Request, principal: PrincipalDep, org: OrgParam = []) -> TenantScope:  # noqa: B006 - FastAPI
    """The rows this principal may read; the org comes from the principal, the parameter can only narrow it."""
    try:
        scope = scope_for(principal, tuple(org))
    except Forbidden as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    request.state.scope = scope
    return scope


ScopeDep = Annotated[TenantScope, Depends(get_scope)]


def get_reader(request: Request, settings: SettingsDep) -> Iterator[TimedReader]:
    """A timed, read-only cursor on the published snapshot (503 until one is published)."""
    try:
        connection, version = snapshot_connection(settings)
    except NoSnapshotError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    request.state.snapshot_version = version  # the answer cache's generation (apps/api/cache.py)
    cursor = connection.cursor()
    try:
        yield TimedReader(cursor, settings.reader_statement_timeout_s)
    finally:
        cursor.close()


ReaderDep = Annotated[TimedReader, Depends(get_reader)]


def write_org(principal: Principal, org: list[str]) -> str:
    """The one org an ingest writes to: the principal's. An operator (no org of its own) names exactly one."""
    if principal.org_id is not None:
        if any(name != principal.org_id for name in org):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to org {org[0]!r}")
        return principal.org_id
    if len(org) != 1:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "name the org to write to: ?org=<org id>")
    return org[0]


def note(request: Request, *, rows: int | None = None, **detail) -> None:
    """What the audit entry of this request records besides who and which route (rows returned, filters, …)."""
    audit = getattr(request.state, "audit_detail", None)
    if audit is None:
        audit = request.state.audit_detail = {}
    if rows is not None:
        audit["rows"] = rows
    audit.update(detail)
