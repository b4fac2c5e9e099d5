"""The app's sign-in and sign-out for local accounts, served next to Streamlit by `asgi.py` (st.App): the sign-in form
posts here, and the answer sets the HttpOnly session cookie (`aioa.identity.app_sessions`) that every later page
load, reload and new tab reads through `st.context.cookies`. A Streamlit script cannot set a cookie; a route can.

A POST is taken only from a page of this app: its Origin (or, without one, its Referer) must be this server's origin,
and its CSRF token must match the browser's CSRF cookie (set by `CsrfCookieMiddleware` on the page that drew the
form). Anything else is 403 and changes nothing."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aioa.identity import accounts, app_sessions
from aioa.identity.app_sessions import CSRF_COOKIE, SESSION_COOKIE
from aioa.identity.errors import AccountLocked, SignInFailed, SignInRateLimited
from aioa.settings import get_settings

SIGN_IN_PATH = "/auth/sign-in"
SIGN_OUT_PATH = "/auth/sign-out"
ERROR_PARAM = "sign_in_error"  # why the last attempt failed, for the app's sign-in screen to say
FORBIDDEN_PAGE = (
    "<!doctype html><title>Sign-in refused</title><p>{reason}</p>"
    '<p><a href="/">Open the app</a> and sign in from its own page.</p>'
)


async def sign_in(request: Request) -> Response:
    """Email and password from the app's sign-in form: on success a session cookie and back to the page the form
    was on; on failure back to the form with the reason in `sign_in_error` (failed, locked, rate_limited)."""
    settings = get_settings()
    form = await request.form()
    refusal = _refusal(request, form.get("csrf_token"))
    if refusal:
        return HTMLResponse(FORBIDDEN_PAGE.format(reason=refusal), status_code=403)
    back_to = _local_path(form.get("next"))
    email, password = str(form.get("email") or "").strip(), str(form.get("password") or "")
    client = f"app:{request.client.host}" if request.client else "app"  # rate-limited per address, as the API's
    try:
        principal = await run_in_threadpool(accounts.sign_in, settings, email, password, client=client)
    except SignInRateLimited:
        return _back_with_error(back_to, "rate_limited")
    except AccountLocked:
        return _back_with_error(back_to, "locked")
    except SignInFailed:
        return _back_with_error(back_to, "failed")
    session_id = await run_in_threadpool(app_sessions.start, settings, principal)
    response = RedirectResponse(back_to, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=settings.app_session_ttl_s,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def sign_out(request: Request) -> Response:
    """Revoke the browser's session and clear its cookie, then back to the app (its sign-in form)."""
    form = await request.form()
    refusal = _refusal(request, form.get("csrf_token"))
    if refusal:
        return HTMLResponse(FORBIDDEN_PAGE.format(reason=refusal), status_code=403)
    await run_in_threadpool(app_sessions.end, get_settings(), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )
    return response


ROUTES = [Route(SIGN_IN_PATH, sign_in, methods=["POST"]), Route(SIGN_OUT_PATH, sign_out, methods=["POST"])]


class CsrfCookieMiddleware:
    """Give a browser its CSRF cookie with the first page it loads, so the sign-in form drawn on that page (over the
    websocket, which carries the cookie) can hold a token bound to it. HttpOnly: page scripts never read it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or CSRF_COOKIE in Request(scope).cookies:
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    cookie = f"{CSRF_COOKIE}={app_sessions.new_csrf_nonce()}; Path=/; HttpOnly; SameSite=Lax"
                    headers.append("set-cookie", cookie + ("; Secure" if secure else ""))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _refusal(request: Request, csrf_token: object) -> str | None:
    """Why a posted form is not taken (None: it came from this app's page in this browser)."""
    if get_settings().auth == "off":
        return "Sign-in is off on this server (AIOA_AUTH=off)."
    own_origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin") or _origin_of(request.headers.get("referer"))
    if origin != own_origin:
        return "The form was not sent from this app's own page."
    nonce = request.cookies.get(CSRF_COOKIE)
    if not app_sessions.csrf_matches(get_settings(), nonce, str(csrf_token) if csrf_token else None):
        return "The form has expired or is not this browser's."
    return None


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _local_path(value: object) -> str:
    """A path of this app to return to; anything else (another site, `//host`, a scheme) is the app's root."""
    path = urlsplit(str(value or "/")).path
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _back_with_error(path: str, reason: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({ERROR_PARAM: reason})}", status_code=303)
