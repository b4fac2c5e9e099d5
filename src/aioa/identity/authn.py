"""Who sent this request: `Authorization: Bearer <access token>` or `Bearer aioa_<API key>`."""

from __future__ import annotations

from aioa.identity.api_keys import KEY_PREFIX, authenticate_key
from aioa.identity.errors import Unauthenticated
from aioa.identity.principal import Principal
from aioa.identity.tokens import verify_access_token
from aioa.settings import Settings

__all__ = ["Unauthenticated", "authenticate"]


def authenticate(settings: Settings, authorization: str | None) -> Principal:
    """The principal of an Authorization header value; raises Unauthenticated (401) saying what was wrong."""
    if not authorization or not authorization.strip():
        raise Unauthenticated("missing Authorization header (Bearer token or API key)")
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    if credential.startswith(KEY_PREFIX):
        return authenticate_key(settings, credential)
    return verify_access_token(settings, credential)
