"""Local sign-in with an HttpOnly cookie, against the real app server (`streamlit run apps/dashboard/asgi.py`): over
plain HTTP the sign-in route refuses forms from other sites or without the CSRF token and sets a cookie with the
right attributes; in a real browser a signed-in person stays signed in across a reload and a new tab, signs out for
good, reads why a sign-in failed, and is signed out on the next load once `aioa users disable` ran."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from aioa.identity import accounts, app_sessions
from aioa.identity.app_sessions import CSRF_COOKIE, SESSION_COOKIE
from aioa.identity.models import SignInWindow
from aioa.identity.store import session_scope
from aioa.settings import PROJECT_ROOT, Settings
from tests.apps.conftest import PASSWORD
from tests.apps.test_browser import ARGS, CHROMIUM, streamlit_command
from tests.servers import free_port, running, url_answers_ok

SESSION_SECRET = "a-session-secret-for-the-sign-in-route-tests-0123456789"
SESSION_TTL_S = 3600  # AIOA_APP_SESSION_TTL_S: the cookie's Max-Age follows the setting
TIMEOUT_MS = 60_000  # generous for a busy machine; the waits end as soon as they can


@dataclass(frozen=True)
class RunningApp:
    url: str
    settings: Settings  # the same identity store and session secret as the server
    env: dict[str, str]
    log: Path


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[RunningApp]:
    """The real app with sign-in on and a few local accounts, on a free port of 127.0.0.1 (one per module). Its home
    has no snapshot: the Admin page needs none, so a signed-in page draws quickly."""
    folder = tmp_path_factory.mktemp("sign-in-app")
    home = folder / "home"
    home.mkdir()
    database_url = f"sqlite:///{folder / 'identity.db'}"
    settings = Settings(home=home, database_url=database_url, session_secret=SecretStr(SESSION_SECRET), auth="on")
    for name in ("boss", "dora", "http", "wanda"):
        accounts.create_user(settings, f"{name}@acme.example", org_id="acme", role="admin", password=PASSWORD)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIOA_", "STREAMLIT_"))}
    env.update(
        AIOA_HOME=str(home),
        AIOA_AUTH="on",
        AIOA_DATABASE_URL=database_url,
        AIOA_SESSION_SECRET=SESSION_SECRET,
        AIOA_APP_SESSION_TTL_S=str(SESSION_TTL_S),
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "streamlit.log"
    command = streamlit_command(port, "--server.fileWatcherType", "none")
    with running(command, env=env, cwd=PROJECT_ROOT, log=log, ready=url_answers_ok(f"{url}/_stcore/health")):
        yield RunningApp(url=url, settings=settings, env=env, log=log)


# --- plain HTTP: what the sign-in route takes and what it answers -------------------------------------------------


@pytest.fixture
def client(app_server: RunningApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_server.url, follow_redirects=False, trust_env=False, timeout=30) as client:
        yield client


def _csrf(client: httpx.Client, app_server: RunningApp) -> str:
    """Load the app's page as a browser would: the answer sets the CSRF cookie; the token is what the form holds."""
    answer = client.get("/")
    assert answer.status_code == 200
    return app_sessions.csrf_token(app_server.settings, client.cookies[CSRF_COOKIE])


def _session_cookie_header(answer: httpx.Response) -> str | None:
    return next((value for value in answer.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE)), None)


def _form(token: str | None, email: str = "http@acme.example", password: str = PASSWORD) -> dict[str, str]:
    form = {"email": email, "password": password, "next": "/admin"}
    return form if token is None else {**form, "csrf_token": token}


def test_the_page_sets_an_httponly_csrf_cookie(client):
    header = next(value for value in client.get("/").headers.get_list("set-cookie") if value.startswith(CSRF_COOKIE))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header


def test_a_form_without_the_csrf_token_is_refused(client, app_server):
    _csrf(client, app_server)  # the browser has its CSRF cookie, the form lacks the token
    answer = client.post("/auth/sign-in", data=_form(None), headers={"Origin": app_server.url})
    assert answer.status_code == 403 and _session_cookie_header(answer) is None
    answer = client.post("/auth/sign-in", data=_form("0" * 64), headers={"Origin": app_server.url})
    assert answer.status_code == 403 and _session_cookie_header(answer) is None


def test_a_form_from_another_site_is_refused(client, app_server):
    token = _csrf(client, app_server)
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {}):
        answer = client.post("/auth/sign-in", data=_form(token), headers=headers)
        assert answer.status_code == 403, headers
        assert _session_cookie_header(answer) is None
        assert "not sent from this app" in answer.text


def test_a_good_sign_in_sets_an_httponly_strict_bounded_session_cookie(client, app_server):
    token = _csrf(client, app_server)
    answer = client.post("/auth/sign-in", data=_form(token), headers={"Origin": app_server.url})
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    cookie = _session_cookie_header(answer)
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert attributes["httponly"] == "HttpOnly"
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/" and attributes["max-age"] == f"Max-Age={SESSION_TTL_S}"
    assert "secure" not in attributes  # plain http
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert app_sessions.principal_for(app_server.settings, session_id).email == "http@acme.example"

    # behind a TLS proxy (X-Forwarded-Proto from 127.0.0.1, which uvicorn trusts) the cookie is Secure
    https_origin = app_server.url.replace("http://", "https://")
    answer = client.post(
        "/auth/sign-in", data=_form(token), headers={"Origin": https_origin, "X-Forwarded-Proto": "https"}
    )
    assert answer.status_code == 303 and "; secure" in _session_cookie_header(answer).lower()


def test_a_wrong_password_goes_back_to_the_form_with_the_reason(client, app_server):
    token = _csrf(client, app_server)
    form = {**_form(token, password="not the password"), "next": "https://evil.example/"}
    answer = client.post("/auth/sign-in", data=form, headers={"Origin": app_server.url})
    assert answer.status_code == 303 and answer.headers["location"] == "/?sign_in_error=failed"  # never off-site
    assert _session_cookie_header(answer) is None
    with session_scope(app_server.settings) as session:  # counted per address, not one window for every user
        windows = {window.client for window in session.scalars(select(SignInWindow))}
    assert "app:127.0.0.1" in windows and "app" not in windows


def test_sign_out_revokes_the_session_and_clears_the_cookie(client, app_server):
    token = _csrf(client, app_server)
    signed_in = client.post("/auth/sign-in", data=_form(token), headers={"Origin": app_server.url})
    session_id = client.cookies[SESSION_COOKIE]
    assert signed_in.status_code == 303 and app_sessions.principal_for(app_server.settings, session_id)
    refused = client.post("/auth/sign-out", data={}, headers={"Origin": app_server.url})
    assert refused.status_code == 403 and app_sessions.principal_for(app_server.settings, session_id)
    answer = client.post("/auth/sign-out", data={"csrf_token": token}, headers={"Origin": app_server.url})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert "Max-Age=0" in _session_cookie_header(answer)
    assert app_sessions.principal_for(app_server.settings, session_id) is None


# --- a real browser ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(app_server: RunningApp) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser) -> Iterator[object]:
    """A fresh browser profile (no cookies)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context
    finally:
        context.close()


def _shows(page, title: str) -> None:
    """Wait until the page's script has drawn `title` as its heading."""
    page.locator("h1", has_text=title).first.wait_for(timeout=TIMEOUT_MS)


def _sign_in(page, email: str, password: str = PASSWORD) -> None:
    form = page.locator("form.aioa-sign-in")
    form.wait_for(timeout=TIMEOUT_MS)
    form.locator("input[name='email']").fill(email)
    form.locator("input[name='password']").fill(password)
    with page.expect_navigation(timeout=TIMEOUT_MS):
        form.get_by_role("button", name="Sign in").click()


def _signed_in_as(page, email: str) -> bool:
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Signed in as").wait_for(timeout=TIMEOUT_MS)
    return f"Signed in as {email}" in sidebar.inner_text()


def test_a_signed_in_person_stays_signed_in_across_a_reload_and_a_new_tab_until_signing_out(context, app_server):
    page = context.new_page()
    page.goto(f"{app_server.url}/admin")
    _shows(page, "Sign in")
    _sign_in(page, "boss@acme.example")
    _shows(page, "Admin")  # back on the page the form was on
    assert page.url == f"{app_server.url}/admin" and _signed_in_as(page, "boss@acme.example")
    assert SESSION_COOKIE not in page.evaluate("document.cookie")  # HttpOnly: out of reach of page scripts
    (cookie,) = [cookie for cookie in context.cookies() if cookie["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.reload()
    _shows(page, "Admin")
    assert page.locator("form.aioa-sign-in").count() == 0

    second_tab = context.new_page()
    second_tab.goto(f"{app_server.url}/admin")
    _shows(second_tab, "Admin")
    assert _signed_in_as(second_tab, "boss@acme.example")

    # A link from another site (a chat message, a mail): SameSite=Strict keeps the cookie off that first request, but
    # the app reads it on its websocket, which its own page opens, so the person lands signed in.
    elsewhere = context.new_page()
    link = f'<a href="{app_server.url}/admin">the dashboard</a>'
    elsewhere.route("http://chat.example/", lambda route: route.fulfill(body=link, content_type="text/html"))
    elsewhere.goto("http://chat.example/")
    with elsewhere.expect_navigation(timeout=TIMEOUT_MS):
        elsewhere.get_by_role("link", name="the dashboard").click()
    _shows(elsewhere, "Admin")
    assert _signed_in_as(elsewhere, "boss@acme.example")
    elsewhere.close()

    with page.expect_navigation(timeout=TIMEOUT_MS):
        page.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign out").click()
    _shows(page, "Sign in")
    page.reload()
    _shows(page, "Sign in")
    page.locator("form.aioa-sign-in").wait_for(timeout=TIMEOUT_MS)  # drawn just after the heading, not with it
    assert page.locator("form.aioa-sign-in").count() == 1
    assert SESSION_COOKIE not in {cookie["name"] for cookie in context.cookies()}
    second_tab.reload()  # the other tab's session was revoked with it
    _shows(second_tab, "Sign in")


def test_a_wrong_password_is_shown_on_the_form(context, app_server):
    page = context.new_page()
    page.goto(app_server.url)
    _shows(page, "Sign in")
    _sign_in(page, "wanda@acme.example", "not the password")
    _shows(page, "Sign in")
    error = page.locator("[data-testid='stAlertContentError']")
    error.first.wait_for(timeout=TIMEOUT_MS)
    assert "Email or password is wrong." in error.first.inner_text()
    assert SESSION_COOKIE not in {cookie["name"] for cookie in context.cookies()}


def test_a_disabled_account_is_signed_out_on_the_next_load(context, app_server):
    page = context.new_page()
    page.goto(f"{app_server.url}/admin")
    _sign_in(page, "dora@acme.example")
    _shows(page, "Admin")
    aioa = Path(sys.executable).with_name("aioa")
    subprocess.run([str(aioa), "users", "disable", "dora@acme.example"], env=app_server.env, check=True, timeout=60)
    page.reload()
    _shows(page, "Sign in")
    assert page.locator("[data-testid='stSidebar']").get_by_text("Signed in as").count() == 0
