"""Who is looking: the app signs in with the same identities as the API (local accounts, or the OIDC provider
through `st.login` when one is configured). `AIOA_AUTH=off` is for one operator on 127.0.0.1 and says so."""

from __future__ import annotations

import streamlit as st

from aioa.identity.permissions import allowed
from aioa.identity.principal import Principal, local_operator
from aioa.settings import Settings, get_settings

PRINCIPAL_KEY = "aioa_principal"  # who signed in (kept for the session)
CURRENT_KEY = "aioa_current_principal"  # who this run is for (set by the entrypoint each run)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


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
    from aioa.identity import accounts, audit
    from aioa.identity.errors import AccountLocked, SignInFailed

    st.title("Sign in")
    if settings.oidc_issuer:
        st.button("Sign in with single sign-on", on_click=st.login, type="primary")
        st.caption("or with a local account:")
    with st.form("sign_in"):
        email = st.text_input("Email")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        st.caption("No account yet? An admin creates one with `aioa users add EMAIL --org ORG --role user`.")
        return
    try:
        principal = accounts.sign_in(settings, email.strip(), password, client="app")
    except AccountLocked as error:
        st.error(f"{error} Try again later or ask an admin.", icon=":material/lock:")
        return
    except SignInFailed:
        st.error("Email or password is wrong.", icon=":material/error:")
        return
    st.session_state[PRINCIPAL_KEY] = principal
    audit.record(settings, actor=principal, action="app.sign_in", org_id=principal.org_id)
    st.rerun()


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
