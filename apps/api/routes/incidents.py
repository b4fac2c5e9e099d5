"""`/v1/incidents/{id}/acknowledge|resolve?token=…`: the signed links in notification messages. The token (HS256, one
incident, one action, 7 days) is the authorization, so no sign-in is needed. GET only shows a button (mail scanners
open links; they must not resolve incidents); POST acts."""

from __future__ import annotations

import html
from typing import Annotated, Literal

import jwt
from apps.api.deps import SettingsDep
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])
Action = Literal["acknowledge", "resolve"]
TokenParam = Annotated[str, Query(min_length=20, max_length=2000, description="The signed link's token.")]


def _claims(settings, incident_id: str, action: str, token: str) -> None:
    from aioa.notify.links import read_token

    try:
        linked, _, linked_action = read_token(settings, token)
    except jwt.InvalidTokenError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"invalid or expired link: {error}") from None
    if (linked, linked_action) != (incident_id, action):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this link is for another incident or action")


@router.get("/{incident_id}/{action}", response_class=HTMLResponse, summary="Confirm a signed incident link")
def confirm(incident_id: str, action: Action, token: TokenParam, settings: SettingsDep) -> HTMLResponse:
    _claims(settings, incident_id, action, token)
    name = html.escape(incident_id)
    return HTMLResponse(
        f"<!doctype html><title>{action} {name}</title><form method='post'>"
        f"<p>{action.capitalize()} incident {name}?</p><button type='submit'>{action.capitalize()}</button></form>"
    )


@router.post("/{incident_id}/{action}", summary="Acknowledge or resolve an incident through its signed link")
def act(incident_id: str, action: Action, token: TokenParam, settings: SettingsDep) -> dict:
    _claims(settings, incident_id, action, token)
    from aioa.rules.incidents import act_by_token

    try:
        incident = act_by_token(settings, token)
    except LookupError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    return {"id": incident.id, "status": incident.status}
