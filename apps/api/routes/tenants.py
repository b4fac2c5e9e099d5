"""`/v1/settings` and `/v1/billing/usage`: the caller's org's settings and its billing usage per month.

The org is always the principal's own; no parameter can name another. The local operator (AIOA_AUTH=off) has no
org of its own and uses the CLI (`aioa tenant settings`, `aioa billing export --org`) instead."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from apps.api.deps import PrincipalDep, ReaderDep, SettingsDep, note, require
from fastapi import APIRouter, Body, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response

from aioa.identity.permissions import allowed
from aioa.identity.principal import Principal
from aioa.tenants.billing import as_csv, billing_rows
from aioa.tenants.settings_doc import InvalidTenantSettings, tenant_settings, update_tenant_settings

router = APIRouter(prefix="/v1", tags=["tenant"])

# What a principal that may read but not change the settings sees: budget and branding for the pages, retention
# and quotas so it knows its limits. Attribution rules (people's home folders, emails) and negotiated prices are
# for admins.
SHARED_SECTIONS = ("monthly_budget_usd", "branding", "retention", "quotas")
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def _own_org(principal: Principal) -> str:
    if principal.org_id is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "the local operator has no org of its own: use `aioa tenant settings` / `aioa billing export --org ORG`",
        )
    return principal.org_id


def _visible(principal: Principal, document: dict) -> dict:
    if allowed(principal, "settings:write"):
        return document
    return {name: document[name] for name in SHARED_SECTIONS}


@router.get(
    "/settings",
    dependencies=[require("settings:read")],
    summary="Your org's settings",
    response_description="The effective settings document (what the org's admins set over the defaults); "
    "admins also see attribution rules and price overrides.",
)
def read_settings(principal: PrincipalDep, settings: SettingsDep) -> dict[str, Any]:
    return _visible(principal, tenant_settings(settings, _own_org(principal)).model_dump(mode="json"))


@router.put(
    "/settings",
    summary="Change your org's settings",
    response_description="The effective settings after the change.",
    responses={422: {"description": "The change does not validate: `detail` lists each field and its problem."}},
)
def put_settings(
    principal: Annotated[Principal, require("settings:write")],
    settings: SettingsDep,
    changes: Annotated[
        dict[str, Any],
        Body(
            description="Sections to change, merged into what is stored (mappings key by key, lists replaced); "
            "null resets a key to its default.",
            examples=[{"monthly_budget_usd": 2500, "branding": {"primary_color": "#1f77b4"}}],
        ),
    ],
) -> dict[str, Any]:
    try:
        updated = update_tenant_settings(settings, _own_org(principal), changes, actor=principal)
    except InvalidTenantSettings as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, error.problems) from None
    return updated.model_dump(mode="json")


@router.get(
    "/billing/usage",
    dependencies=[require("billing:export")],
    summary="Your org's billing usage in one month",
    response_description="One row: calls, errors, tokens, cost, unpriced calls, active users, stored rows (UTC month).",
)
def billing_usage(
    request: Request,
    principal: PrincipalDep,
    reader: ReaderDep,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="Calendar month in UTC, YYYY-MM.")],
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv.")] = "json",  # noqa: A002
) -> Response:
    org_id = _own_org(principal)
    rows = billing_rows(reader, org_id, month)
    note(request, rows=len(rows), month=month, format=format)
    if format == "json":
        return JSONResponse(rows)
    filename = f"billing-{re.sub(r'[^A-Za-z0-9_.-]', '_', org_id)}-{month}.csv"
    return Response(
        as_csv(rows), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
