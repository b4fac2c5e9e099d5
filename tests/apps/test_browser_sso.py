"""Single sign-on in the app, end to end in a real browser: the real Streamlit server signs in through `st.login` at a
real OpenID provider (oidc-provider-mock) on 127.0.0.1 (discovery, JWKS, authorisation code with PKCE, id token
validated by Streamlit), the claims map to org, team and role like the API's, and the person sees their team's
numbers and only their role's pages; a person whose claims name no org sees the refusal and no numbers."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from aioa.identity.streamlit_auth import write_auth_secrets
from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.snapshots import open_snapshot
from tests.apps.test_browser import ARGS, CHROMIUM, _wait_until_idle, streamlit_command
from tests.identity.test_oidc import CLIENT_ID, CLIENT_SECRET, MockProvider, provider  # noqa: F401 - a fixture
from tests.servers import free_port, running, url_answers_ok

pytest.importorskip("playwright")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed (`make browser` installs it)"
)

# The Viewer's pages (usage:read, ml:read, rules:read); Ask, Data quality, Admin and Health need permissions a
# Viewer lacks, and "My usage" needs usage ids, which this SSO account has none of.
VIEWER_PAGES = {
    "Overview",
    "My dashboard",
    "Usage map",
    "Costs",
    "Projects",
    "Sessions & agents",
    "MCP & tools",
    "Behaviour & patterns",
    "Comparisons & KPIs",
    "Reports",
    "Routing",
    "Forecasts & budgets",
    "Anomalies",
    "Automations",
}
# The acme-web team's spend in the 30 days up to its last day of usage (the Overview's default period).
TEAM_SPEND_SQL = (
    "select sum(cost_usd) from marts.agg_usage_daily where org_id = ? and team_id = ? "
    "and day > (select max(day) - 30 from marts.agg_usage_daily where org_id = ? and team_id = ?)"
)
ORG_SPEND_SQL = (
    "select sum(cost_usd) from marts.agg_usage_daily where org_id = ? "
    "and day > (select max(day) - 30 from marts.agg_usage_daily where org_id = ?)"
)
TIMEOUT_MS = 60_000  # generous: a busy machine runs the app's pages slowly (the waits end as soon as they can)


@dataclass(frozen=True)
class RunningApp:
    url: str
    log: Path


@pytest.fixture(scope="module")
def sso_app(built_home: Path, provider: MockProvider, tmp_path_factory) -> Iterator[RunningApp]:  # noqa: F811
    """The real app (sign-in on, single sign-on at the test provider), on a free port, always stopped."""
    folder = tmp_path_factory.mktemp("sso-app")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    session_secret = "a-session-secret-for-the-browser-sso-test-0123456789"
    settings = Settings(
        home=built_home,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
        session_secret=SecretStr(session_secret),
    )
    secrets = write_auth_secrets(settings, folder / "streamlit", app_url=url)  # never the repo's .streamlit/
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIOA_", "STREAMLIT_"))}
    env.update(
        AIOA_HOME=str(built_home),
        AIOA_AUTH="on",
        AIOA_DATABASE_URL=f"sqlite:///{folder / 'identity.db'}",
        AIOA_OIDC_ISSUER=provider.issuer,
        AIOA_OIDC_CLIENT_ID=CLIENT_ID,
        AIOA_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        AIOA_SESSION_SECRET=session_secret,
    )
    log_path = folder / "streamlit.log"
    command = streamlit_command(
        port,
        *("--server.fileWatcherType", "none"),  # nothing changes under it; watching the tree only costs CPU
        *("--secrets.files", str(secrets)),
    )
    health = url_answers_ok(f"{url}/_stcore/health")
    with running(command, env=env, cwd=PROJECT_ROOT, log=log_path, ready=health, start_timeout_s=60):
        yield RunningApp(url=url, log=log_path)


@pytest.fixture(scope="module")
def browser(sso_app: RunningApp) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            _first_run(chromium, sso_app)
            yield chromium
        finally:
            chromium.close()


def _first_run(browser, sso_app: RunningApp) -> None:
    """Open the sign-in page once: the server's first run imports the app's libraries, which can take a while."""
    page = browser.new_page()
    try:
        page.goto(sso_app.url)
        page.get_by_role("button", name="Sign in with single sign-on").wait_for(timeout=2 * TIMEOUT_MS)
    finally:
        page.close()


@dataclass(frozen=True)
class SignedIn:
    page: object  # a Playwright page, back in the app
    authorization_query: dict[str, str]  # what the app's st.login asked the provider for
    token_request: dict[str, str]  # what the app's server sent the provider's token endpoint


def _sign_in_with_sso(context, sso_app: RunningApp, provider: MockProvider, sub: str) -> SignedIn:  # noqa: F811
    """A fresh browser (no cookies): the app's sign-in page, the provider's form, back to the app."""
    page = context.new_page()
    page.goto(sso_app.url)
    page.get_by_role("button", name="Sign in with single sign-on").click(timeout=TIMEOUT_MS)
    page.wait_for_url(f"{provider.issuer}/oauth2/authorize?*", timeout=TIMEOUT_MS)
    query = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}
    provider.token_requests.clear()
    page.fill("input[name='sub']", sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{sso_app.url}/**", timeout=TIMEOUT_MS)
    (token_request,) = provider.token_requests  # the code was exchanged once, by the app's server
    return SignedIn(page=page, authorization_query=query, token_request=token_request)


def _assert_code_flow_with_pkce(signed_in: SignedIn, sso_app: RunningApp) -> None:
    query, sent = signed_in.authorization_query, signed_in.token_request
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{sso_app.url}/oauth2callback"
    assert query["state"] and query["nonce"] and "openid" in query["scope"].split()
    assert query["code_challenge_method"] == "S256"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(sent["code_verifier"].encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == challenge.decode()  # the verifier travelled only on the back channel
    assert sent["grant_type"] == "authorization_code" and sent["redirect_uri"] == query["redirect_uri"]


def _team_spend(home: Path, org_id: str, team_id: str) -> float:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(TEAM_SPEND_SQL, [org_id, team_id, org_id, team_id]).fetchone()[0] or 0.0


def _org_spend(home: Path, org_id: str) -> float:
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(ORG_SPEND_SQL, [org_id, org_id]).fetchone()[0] or 0.0


def _metric_value(page, label: str) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label)
    )
    metric.first.wait_for(timeout=TIMEOUT_MS)
    return metric.first.locator("[data-testid='stMetricValue']").inner_text().strip()


def _offered_pages(page) -> set[str]:
    # every page is listed: none folded behind Streamlit's "View more" (the navigation is expanded)
    assert page.locator("[data-testid='stSidebarNavViewButton']").count() == 0
    links = page.locator("[data-testid='stSidebarNavLink']").all_inner_texts()
    return {text.strip().splitlines()[-1] for text in links}  # each link reads "<icon name>\n\n<title>"


def test_a_viewer_signs_in_with_sso_and_sees_only_their_team(
    browser,
    sso_app: RunningApp,
    provider: MockProvider,  # noqa: F811 - the imported fixture
    built_home: Path,
) -> None:
    provider.set_user("amara-sub", {"email": "amara@acme.example", "org": "acme", "team": "acme-web", "role": "viewer"})
    spend, org_spend = _team_spend(built_home, "acme", "acme-web"), _org_spend(built_home, "acme")
    assert 0 < spend < org_spend  # the team's numbers differ from the org's

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        signed_in = _sign_in_with_sso(context, sso_app, provider, "amara-sub")
        _assert_code_flow_with_pkce(signed_in, sso_app)
        page = signed_in.page
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Signed in as").wait_for(timeout=TIMEOUT_MS)
        assert "Signed in as amara@acme.example · viewer · acme" in sidebar.inner_text()
        page.locator("h1", has_text="Overview").wait_for(timeout=TIMEOUT_MS)

        assert _metric_value(page, "Spend") == f"${spend:,.2f}"
        offered = _offered_pages(page)
        assert offered == VIEWER_PAGES
        assert not offered & {"Ask", "Data quality", "Admin"}
        errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
        assert errors.count() == 0, f"{errors.first.inner_text()}\n{sso_app.log.read_text()[-2000:]}"
    finally:
        context.close()


def test_a_person_without_an_org_claim_is_refused_and_sees_no_numbers(
    browser,
    sso_app: RunningApp,
    provider: MockProvider,  # noqa: F811 - the imported fixture
) -> None:
    provider.set_user("nora-sub", {"email": "nora@nowhere.example", "role": "viewer"})

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = _sign_in_with_sso(context, sso_app, provider, "nora-sub").page
        refusal = page.locator("[data-testid='stAlertContentError']")
        refusal.first.wait_for(timeout=TIMEOUT_MS)
        text = refusal.first.inner_text()
        assert "Single sign-on refused" in text and "no org for nora@nowhere.example" in text
        page.get_by_role("button", name="Sign out").wait_for(timeout=TIMEOUT_MS)  # drawn just after the refusal
        _wait_until_idle(page)  # the run has ended (st.stop after the refusal): nothing more will be drawn
        assert page.get_by_role("button", name="Sign out").count() == 1
        assert page.locator("[data-testid='stMetric'], [data-testid='stDataFrame']").count() == 0
        assert page.locator("[data-testid='stPlotlyChart'], [data-testid='stSidebarNavLink']").count() == 0
        assert "$" not in page.locator("[data-testid='stMain']").inner_text()
    finally:
        context.close()
