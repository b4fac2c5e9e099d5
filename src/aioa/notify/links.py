"""Links in messages: the app page with the incident's filters in the URL, and signed acknowledge/resolve links
(a token for one incident and one action, HS256 with a secret derived from the session secret, valid 7 days)."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import jwt

from aioa.identity import clock
from aioa.settings import Settings

LINK_TTL = timedelta(days=7)
ACTIONS = ("acknowledge", "resolve")


def page_link(settings: Settings, page: str, *, org_id: str, start: date | None, end: date | None, **filters) -> str:
    """`<app>/<page>?start=…&end=…&orgs=…&projects=…`: the page's own filter parameters (page_kit.sidebar_filters)."""
    params = {"start": start, "end": end, "orgs": org_id}
    names = {"project_id": "projects", "model": "models", "team_id": "teams"}
    params |= {names[name]: value for name, value in filters.items() if name in names and value}
    query = urlencode({name: str(value) for name, value in params.items() if value is not None})
    return f"{settings.app_url.rstrip('/')}/{page}?{query}"


def _secret(settings: Settings) -> str:
    from aioa.identity.oidc import derived_secret

    return derived_secret(settings, "incident-links")


def action_token(settings: Settings, incident_id: str, org_id: str, action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    now = clock.now()
    claims = {"inc": incident_id, "org": org_id, "act": action, "iat": now, "exp": now + LINK_TTL}
    return jwt.encode(claims, _secret(settings), algorithm="HS256")


def action_link(settings: Settings, incident_id: str, org_id: str, action: str) -> str:
    token = action_token(settings, incident_id, org_id, action)
    return f"{settings.api_url.rstrip('/')}/v1/incidents/{incident_id}/{action}?token={token}"


def read_token(settings: Settings, token: str) -> tuple[str, str, str]:
    """(incident id, org id, action) of a valid link token; jwt.InvalidTokenError when forged or expired."""
    claims = jwt.decode(
        token,
        _secret(settings),
        algorithms=["HS256"],
        options={"require": ["exp", "inc", "act"], "verify_exp": False, "verify_iat": False},
    )
    if claims["exp"] <= clock.now().timestamp():  # the identity store's clock, as everywhere in incidents
        raise jwt.ExpiredSignatureError("this link has expired; open the incident in the app")
    if claims["act"] not in ACTIONS:
        raise jwt.InvalidTokenError("unknown action")
    return claims["inc"], claims["org"], claims["act"]
