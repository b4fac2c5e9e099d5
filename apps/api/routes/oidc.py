"""Single sign-on for the API: `/v1/auth/oidc/login` sends the browser to the OpenID Connect provider, and
`/v1/auth/oidc/callback` checks what comes back and answers with our token pair (see docs/sso.md)."""

from __future__ import annotations

from typing import Annotated

from apps.api.deps import SettingsDep, note
from apps.api.routes.auth import Token
from fastapi import APIRouter, Cookie, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse

from aioa.identity import audit, oidc, tokens
from aioa.identity.errors import SignInFailed

router = APIRouter(prefix="/v1/auth/oidc", tags=["auth"])

COOKIE = "aioa_oidc_login"  # the pending sign-in, signed, 10 minutes, sent back to the callback only
COOKIE_PATH = "/v1/auth/oidc"
SECRET_PARAMS = ("code", "state", "session_state", "id_token")  # kept out of the audit log


class SignedIn(Token):
    next: str  # where the client meant to go (a path on this site)


@router.get(
    "/login",
    summary="Sign in with single sign-on: redirects to the identity provider",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={404: {"description": "Single sign-on is not configured"}, 502: {"description": "Provider down"}},
)
def oidc_login(
    request: Request,
    settings: SettingsDep,
    next: Annotated[str, Query(description="Path to go to after signing in (this site only).")] = "/",  # noqa: A002
) -> RedirectResponse:
    if not settings.oidc_issuer:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "single sign-on is not configured (AIOA_OIDC_ISSUER)")
    redirect_uri = settings.oidc_redirect_uri or str(request.url_for("oidc_callback"))
    try:
        url, pending = oidc.start_login(settings, redirect_uri=redirect_uri, next_path=next)
    except oidc.OidcError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from None
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        COOKIE,
        oidc.seal_pending(settings, pending),
        max_age=oidc.LOGIN_TTL_S,
        path=COOKIE_PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",  # sent on the provider's top-level redirect back to us, not on cross-site subrequests
    )
    return response


@router.get(
    "/callback",
    name="oidc_callback",
    summary="Where the identity provider sends the browser back: answers with an access and a refresh token",
    responses={
        401: {"description": "The sign-in is expired, altered, replayed, or its id token is invalid"},
        403: {"description": "The person's claims name no org or no known role, or the account is disabled"},
        502: {"description": "The identity provider could not be reached"},
    },
)
def oidc_callback(
    request: Request,
    settings: SettingsDep,
    pending_cookie: Annotated[str | None, Cookie(alias=COOKIE, include_in_schema=False)] = None,
) -> JSONResponse:
    params = dict(request.query_params)
    note(request, query={name: ["…"] if name in SECRET_PARAMS else [value] for name, value in params.items()})
    try:
        pending = oidc.open_pending(settings, pending_cookie)
        identity = oidc.complete_login(settings, params, pending)
        principal = oidc.sign_in(settings, identity)  # records `signin.federated` in the audit log
    except (oidc.OidcError, SignInFailed) as error:
        audit.record(
            settings,
            actor=f"anonymous <{settings.oidc_issuer}>",
            action="signin.federated.failed",
            detail={"reason": str(error)},
        )
        answer = _refusal(error)
    else:
        request.state.principal = principal
        pair = tokens.issue_tokens(settings, principal)
        body = SignedIn(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            next=pending.next_path,
        )
        answer = JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})
    answer.delete_cookie(COOKIE, path=COOKIE_PATH)  # used once, whatever the outcome
    return answer


def _refusal(error: Exception) -> JSONResponse:
    if isinstance(error, oidc.ProviderUnavailable):
        code = status.HTTP_502_BAD_GATEWAY
    elif isinstance(error, oidc.SignInRefused | SignInFailed):
        code = status.HTTP_403_FORBIDDEN  # the provider vouched for them; we do not let them in
    else:
        code = status.HTTP_401_UNAUTHORIZED
    return JSONResponse(
        {"detail": f"single sign-on failed: {error}"}, status_code=code, headers={"Cache-Control": "no-store"}
    )
