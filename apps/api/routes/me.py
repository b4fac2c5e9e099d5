"""`GET /v1/me`: who the credentials belong to and what they may do."""

from __future__ import annotations

from apps.api.deps import PrincipalDep
from fastapi import APIRouter
from pydantic import BaseModel

from aioa.identity.permissions import PERMISSIONS, allowed

router = APIRouter(prefix="/v1", tags=["auth"])


class Me(BaseModel):
    subject: str
    kind: str
    org_id: str | None
    team_id: str | None
    role: str
    email: str | None
    key_scopes: list[str] | None
    permissions: list[str]


@router.get("/me", summary="The signed-in principal and its permissions")
def me(principal: PrincipalDep) -> Me:
    return Me(
        subject=principal.subject,
        kind=principal.kind,
        org_id=principal.org_id,
        team_id=principal.team_id,
        role=principal.role,
        email=principal.email,
        key_scopes=None if principal.key_scopes is None else sorted(principal.key_scopes),
        permissions=[name for name in PERMISSIONS if allowed(principal, name)],
    )
