"""A real browser (Debian's Chromium, headless, driven by Playwright) opens every page of the running app, finds no
error element, and saves a screenshot of each page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from aioa.settings import PROJECT_ROOT

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running_app(built_home, tmp_path):
    port = _free_port()
    env = dict(os.environ, AIOA_HOME=str(built_home))
    env["AIOA_AUTH"] = "off"  # signing in in a browser: test_sign_in.py
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py"),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()[-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=20)


def test_every_page_opens_in_a_real_browser_without_errors(running_app, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (`make test` installs it with apt when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, path in PAGES.items():
            page.goto(f"{running_app}/{path}", wait_until="networkidle")
            page.wait_for_selector("[data-testid='stMain']", timeout=30_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
            # the page says what it is (or what to do) once its script has run: a cold first run can take a while
            page.wait_for_selector("h1, [data-testid='stAlertContentInfo']", timeout=60_000)
            page.wait_for_timeout(500)
            errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
            assert errors.count() == 0, f"{name}: {errors.first.inner_text()}"
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        browser.close()
    assert len(list(tmp_path.glob("*.png"))) == len(PAGES)
