"""Sign-in for local accounts (OAuth2 password flow, as FastAPI documents it), token refresh and revocation, and the
public keys that verify access tokens (`/.well-known/jwks.json`)."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import SettingsDep
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from aioa.identity import accounts, tokens
from aioa.identity.errors import AccountLocked, InvalidToken, SignInFailed, SignInRateLimited

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token lives.")


class RefreshToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1)


def _token(pair: tokens.TokenPair) -> Token:
    return Token(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
    )


@router.post(
    "/v1/auth/token",
    summary="Sign in (OAuth2 password flow): email as `username`, password",
    responses={
        401: {"description": "Wrong email or password"},
        423: {"description": "Account locked"},
        429: {"description": "Too many attempts from this client"},
    },
)
def sign_in(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, settings: SettingsDep) -> Token:
    client = request.client.host if request.client else None
    try:
        principal = accounts.sign_in(settings, form.username, form.password, client=client)
    except SignInRateLimited as error:
        raise _retry_later(status.HTTP_429_TOO_MANY_REQUESTS, error) from None
    except AccountLocked as error:
        raise _retry_later(status.HTTP_423_LOCKED, error) from None
    except SignInFailed as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    return _token(tokens.issue_tokens(settings, principal))


def _retry_later(code: int, error: AccountLocked) -> HTTPException:
    return HTTPException(code, str(error), headers={"Retry-After": str(max(1, int(error.retry_after_s)))})


@router.post("/v1/auth/refresh", summary="A new token pair for a refresh token (which is spent)")
def refresh(body: RefreshToken, settings: SettingsDep) -> Token:
    """Reusing a spent refresh token revokes its whole sign-in session (401)."""
    try:
        return _token(tokens.refresh_tokens(settings, body.refresh_token))
    except InvalidToken as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error), headers={"WWW-Authenticate": "Bearer"}) from None


@router.post("/v1/auth/revoke", summary="Sign out: revoke a refresh token's session")
def revoke(body: RefreshToken, settings: SettingsDep) -> dict[str, bool]:
    """Answers the same whether or not the token was known (RFC 7009), so it reveals nothing."""
    tokens.revoke_family(settings, body.refresh_token)
    return {"revoked": True}


@router.get("/.well-known/jwks.json", summary="Public keys (JWKS) that verify access tokens")
def jwks(settings: SettingsDep) -> dict:
    return tokens.jwks(settings)
