"""Who is looking: the app signs in with the same identities as the API (local accounts, or the OIDC provider
through `st.login` when one is configured). `AIOA_AUTH=off` is for one operator on 127.0.0.1 and says so.

A local account signs in through a plain HTML form that posts to the server's own route (`auth_routes.py`, served by
`asgi.py`), which answers with an HttpOnly session cookie; each run here reads that cookie (`st.context.cookies`) and
asks the identity store who it belongs to now, so a reload or a new tab stays signed in, and signing out, a disabled
account or a changed role shows on the next click."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

import streamlit as st
from auth_routes import ERROR_PARAM, SIGN_IN_PATH, SIGN_OUT_PATH

from aioa.identity import app_sessions
from aioa.identity.app_sessions import CSRF_COOKIE, SESSION_COOKIE
from aioa.identity.permissions import allowed
from aioa.identity.principal import Principal, local_operator
from aioa.settings import Settings, get_settings

PRINCIPAL_KEY = "aioa_principal"  # who signed in through single sign-on (kept for the Streamlit session)
CURRENT_KEY = "aioa_current_principal"  # who this run is for (set by the entrypoint each run)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SIGN_IN_ERRORS = {  # auth_routes' reasons -> what the person reads
    "failed": "Email or password is wrong.",
    "locked": "Too many failed sign-ins: this account is locked for a while. Try again later or ask an admin.",
    "rate_limited": "Too many sign-in attempts from here in the last minute. Try again in a minute.",
}


def current_principal() -> Principal:
    """The signed-in principal; draws the sign-in form and stops the run when nobody is signed in."""
    principal = _sign_in()
    st.session_state[CURRENT_KEY] = principal
    return principal


def signed_in() -> Principal:
    """The principal the entrypoint signed in for this run (pages call this, never the sign-in itself)."""
    return st.session_state[CURRENT_KEY]


def _sign_in() -> Principal:
    settings = get_settings()
    if settings.auth == "off":
        return _operator_without_sign_in()
    principal = app_sessions.principal_for(settings, _cookie(SESSION_COOKIE))
    if principal is not None:
        _sign_out_form(principal)
        return principal
    principal = _still_valid(settings, st.session_state.get(PRINCIPAL_KEY))
    if principal is None and settings.oidc_issuer and _oidc_user_present():
        principal = _federated_principal(settings)
    if principal is None:
        _sign_in_form(settings)
        st.stop()
    _sign_out_button(principal, settings)
    return principal


def may(principal: Principal, permission: str) -> bool:
    return allowed(principal, permission)


def _still_valid(settings: Settings, principal: Principal | None) -> Principal | None:
    """The session's principal as the store has it now: a disabled account, or changed role or team, takes effect
    on the next click, not at the next sign-in."""
    if principal is None:
        return None
    from aioa.identity import accounts
    from aioa.identity.errors import InvalidCredentials

    try:
        current = accounts.principal_for(settings, principal.subject)
    except InvalidCredentials:
        st.session_state.pop(PRINCIPAL_KEY, None)
        return None
    st.session_state[PRINCIPAL_KEY] = current
    return current


def _operator_without_sign_in() -> Principal:
    address = st.get_option("server.address") or "127.0.0.1"
    if address not in LOOPBACK:
        st.error(
            f"Sign-in is off (AIOA_AUTH=off) but the app listens on {address}. Serve it on 127.0.0.1 only, "
            "or turn sign-in on (unset AIOA_AUTH) and create accounts with `aioa users add`.",
            icon=":material/lock:",
        )
        st.stop()
    st.warning(
        "Sign-in is off (AIOA_AUTH=off): this local session sees every org with admin rights.",
        icon=":material/lock_open:",
    )
    return local_operator()


def _sign_in_form(settings: Settings) -> None:
    """Single sign-on (st.login) when configured, and the local accounts' form, which the browser posts to
    `auth_routes.sign_in`; that route sends it back here with `sign_in_error` when the attempt failed."""
    st.title("Sign in")
    if settings.oidc_issuer:
        st.button("Sign in with single sign-on", on_click=st.login, type="primary")
        st.caption("or with a local account:")
    error = st.query_params.get(ERROR_PARAM)
    if error:
        icon = ":material/error:" if error == "failed" else ":material/lock:"
        st.error(SIGN_IN_ERRORS.get(error, SIGN_IN_ERRORS["failed"]), icon=icon)
    csrf_token = _form_token(settings)
    if csrf_token is None:  # the page was not served by asgi.py's middleware (or its cookie was cleared)
        st.warning(
            "This page holds no sign-in cookie yet: reload it. (The app is served by "
            "`streamlit run apps/dashboard/asgi.py`; `make app` does that.)",
            icon=":material/cookie:",
        )
    st.html(_sign_in_html(csrf_token or "", _this_path()))
    st.caption("No account yet? An admin creates one with `aioa users add EMAIL --org ORG --role user`.")


def _sign_in_html(csrf_token: str, next_path: str) -> str:
    """A plain form (st.html keeps forms; no script): the password goes to the server's route, never through the
    websocket, and the answer's cookie is out of reach of page scripts."""
    return f"""
<style>
  .aioa-sign-in {{ display: grid; gap: 0.75rem; max-width: 26rem; }}
  .aioa-sign-in label {{ display: grid; gap: 0.25rem; font-size: 0.875rem; }}
  .aioa-sign-in input {{ font: inherit; color: inherit; background: transparent; padding: 0.5rem 0.75rem;
    border: 1px solid rgba(128, 128, 128, 0.5); border-radius: 0.5rem; }}
  .aioa-sign-in button {{ font: inherit; justify-self: start; padding: 0.4rem 1rem; border-radius: 0.5rem;
    border: 1px solid rgba(128, 128, 128, 0.5); background: transparent; color: inherit; cursor: pointer; }}
</style>
<form class="aioa-sign-in" method="post" action="{SIGN_IN_PATH}">
  <input type="hidden" name="csrf_token" value="{escape(csrf_token)}">
  <input type="hidden" name="next" value="{escape(next_path)}">
  <label>Email <input type="email" name="email" autocomplete="username" required></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
"""


def _sign_out_form(principal: Principal) -> None:
    """Who is signed in, and a sign-out button that posts to `auth_routes.sign_out` (it revokes the session and
    clears the cookie: a Streamlit run cannot clear an HttpOnly cookie)."""
    csrf_token = _form_token(get_settings()) or ""
    with st.sidebar:
        who = principal.email or principal.subject
        st.caption(f"Signed in as **{who}** · {principal.role} · {principal.org_id}")
        st.html(
            f'<form method="post" action="{SIGN_OUT_PATH}" style="margin: 0">'
            f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
            '<button type="submit" style="font: inherit; padding: 0.25rem 0.75rem; border-radius: 0.5rem; '
            'border: 1px solid rgba(128, 128, 128, 0.5); background: transparent; color: inherit; cursor: pointer">'
            "Sign out</button></form>"
        )


def _form_token(settings: Settings) -> str | None:
    """The CSRF token the sign-in and sign-out forms carry for this browser (None: no CSRF cookie yet)."""
    nonce = _cookie(CSRF_COOKIE)
    return app_sessions.csrf_token(settings, nonce) if nonce else None


def _cookie(name: str) -> str | None:
    """A cookie the browser sent with this session's websocket (None outside a real server: AppTest's stand-in
    runtime answers with mocks)."""
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) else None


def _this_path() -> str:
    """The page the sign-in form is on (the route returns there)."""
    return urlsplit(st.context.url or "/").path or "/"


def _oidc_user_present() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:  # noqa: BLE001 - st.user needs the [auth] secrets; without them nobody is signed in via SSO
        return False


def _federated_principal(settings: Settings) -> Principal | None:
    """Map the provider's claims the same way the API does; refuse (with the reason) when they name no org."""
    from aioa.identity.oidc import SignInRefused, principal_from_claims

    try:
        principal = principal_from_claims(settings, dict(st.user))
    except SignInRefused as error:
        st.error(f"Single sign-on refused: {error}", icon=":material/error:")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    st.session_state[PRINCIPAL_KEY] = principal
    return principal


def _sign_out_button(principal: Principal, settings: Settings) -> None:
    with st.sidebar:
        who = principal.email or principal.subject
        st.caption(f"Signed in as **{who}** · {principal.role} · {principal.org_id}")
        if st.button("Sign out", key="sign_out"):
            st.session_state.pop(PRINCIPAL_KEY, None)
            if settings.oidc_issuer and _oidc_user_present():
                st.logout()
            st.rerun()
