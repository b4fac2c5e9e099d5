"""A real browser (Debian's Chromium, headless, driven by Playwright) opens every page of the running app, finds no
error element, and saves a screenshot of each page."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aioa.settings import PROJECT_ROOT
from tests.servers import free_port, running, url_answers_ok

CHROMIUM = Path("/usr/bin/chromium")
PAGES = {
    "overview": "",
    "costs": "costs",
    "projects": "projects",
    "sessions": "sessions",
    "mcp_tools": "mcp_tools",
    "routing": "routing",
    "forecasts": "forecasts",
    "anomalies": "anomalies",
    "quality": "quality",
    "ask": "ask",
}
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def running_app(built_home, tmp_path):
    with _serving(built_home, tmp_path) as url:
        yield url


@contextmanager
def _serving(home: Path, tmp_path: Path) -> Iterator[str]:
    """The app served by Streamlit on a free port of 127.0.0.1, reading `home`; stopped on leaving."""
    port = free_port()
    env = dict(os.environ, AIOA_HOME=str(home))
    env["AIOA_AUTH"] = "off"  # signing in in a browser: test_auth_routes.py, test_browser_sso.py
    url = f"http://127.0.0.1:{port}"
    with running(
        streamlit_command(port),
        env=env,
        cwd=PROJECT_ROOT,
        log=tmp_path / "streamlit.log",
        ready=url_answers_ok(f"{url}/_stcore/health"),
        start_timeout_s=60,
        stop_timeout_s=60,  # a loaded machine (2 cores, parallel tests) stops it slowly
    ):
        yield url


def streamlit_command(port: int, *options: str) -> list[str]:
    """`streamlit run` of the app's server (asgi.py: Streamlit and the sign-in routes, as `make app` serves it) on `port`
    of 127.0.0.1, headless, with more Streamlit `options`."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_ROOT / "apps" / "dashboard" / "asgi.py"),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *options,
    ]


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (`make test` installs it with apt when it can)")


def _wait_for_page(page) -> None:
    page.wait_for_selector("[data-testid='stMain']", timeout=30_000)
    # the page says what it is (or what to do) early in its run: a cold first run can take a while
    page.wait_for_selector("h1, [data-testid='stAlertContentInfo']", timeout=60_000)
    _wait_until_idle(page)


def _wait_until_idle(page) -> None:
    """Wait until the app's script is not running (the attribute Streamlit's own browser tests wait on). Stricter
    than waiting for the "running" indicator to go, which Streamlit shows only after a short delay."""
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=60_000)


def test_every_page_opens_in_a_real_browser_without_errors(running_app, tmp_path):
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, path in PAGES.items():
            page.goto(f"{running_app}/{path}", wait_until="networkidle")
            _wait_for_page(page)
            errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
            assert errors.count() == 0, f"{name}: {errors.first.inner_text()}"
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        browser.close()
    assert len(list(tmp_path.glob("*.png"))) == len(PAGES)


def test_the_overview_opens_on_an_overrun_budget_and_an_anomaly_and_links_to_their_pages(built_home, tmp_path):
    """A budget with a 100% chance of overrun and a $79 cost spike stored in the snapshot: the Overview's first panel
    names both (chance, overrun day, drivers) before any table, and its link opens the Forecasts page on that org."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    from tests.apps.stored_ml import ACTUAL_PER_DAY, ORG, expected_overrun, home_with_stored_ml

    home, last = home_with_stored_ml(built_home, tmp_path / "home")
    overrun = expected_overrun(last)
    with _serving(home, tmp_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="networkidle")
        _wait_for_page(page)
        panel = page.locator(".st-key-attention")
        # the panel's items are drawn after its header and freshness lines (seen once: read between the two)
        panel.get_by_text(f"{ORG}: 100% chance of overrunning").wait_for(timeout=60_000)
        text = " ".join(panel.inner_text().split())
        assert f"{ORG}: 100% chance of overrunning" in text
        assert overrun.strftime("%d %b %Y").lstrip("0") in text  # the day the running total passes the budget
        assert f"{ORG}: cost spike on {last.isoformat()}" in text and "$79.25 against $3.50" in text
        assert "driven by project checkout-api 80%, model claude-opus-4-6 90%, user amara 70%" in text
        # the panel comes before the headline numbers and the charts
        panel_top = panel.bounding_box()["y"]
        assert panel_top < page.locator("[data-testid='stMetric']").first.bounding_box()["y"]
        link = panel.locator("a", has_text=f"Forecast for {ORG}")
        assert "org=" + ORG in link.get_attribute("href")
        page.screenshot(path=str(tmp_path / "overview_attention.png"), full_page=True)
        link.click()
        page.wait_for_url(f"**/forecasts?org={ORG}*", timeout=30_000)
        _wait_for_page(page)
        page.get_by_role("heading", name="Forecasts & budgets").wait_for(timeout=60_000)
        # the page opened on the linked org: its month-to-date card is the fixture's (and the URL kept the org)
        month_to_date = page.locator("[data-testid='stMetric']", has_text="Month to date")
        month_to_date.wait_for(timeout=60_000)
        assert f"${ACTUAL_PER_DAY * last.day:,.2f}" in month_to_date.inner_text()
        assert f"org={ORG}" in page.url
        errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
        assert errors.count() == 0, errors.first.inner_text()
        browser.close()
