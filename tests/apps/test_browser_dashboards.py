"""In a real browser (headless Chromium): a click on a chart's bar opens the calls behind it with the drill-down in
the URL; a dashboard arranged and saved comes back after a reload; every page fits a 390 px phone screen in the
light and the dark theme; an open Overview shows a newly published snapshot by itself; nothing reaches the
internet."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.connection import connect
from aioa.warehouse.snapshots import open_snapshot, publish_snapshot
from tests.apps.test_browser import ARGS, CHROMIUM, _need_chromium, _serving, _wait_for_page, _wait_until_idle

PHONE = {"width": 390, "height": 844}


def _app_pages() -> list[str]:
    """Every page the entrypoint registers (its URL path), read from its PAGES table; not My usage, which needs a
    person's own usage ids (the local operator has none)."""
    tree = ast.parse((PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py").read_text())
    table = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PAGES"
    )
    files = [entry.elts[0].value for section in table.values for entry in section.elts]
    return [Path(file).stem for file in files if Path(file).stem != "my_usage"]


PAGES = _app_pages()
WINDOW = "day > (select max(day) - 30 from marts.agg_usage_daily)"  # the app's default 30 days


@pytest.fixture(scope="module")
def home(built_home, tmp_path_factory):
    target = tmp_path_factory.mktemp("browser-dashboards") / "home"
    shutil.copytree(built_home, target)
    return target


@pytest.fixture(scope="module")
def app_url(home, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIOA_DASHBOARD_REFRESH_S", "2")
        with _serving(home, tmp_path_factory.mktemp("streamlit")) as url:
            yield url


@pytest.fixture(scope="module")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _page(browser, app_url, **options):
    """A new browser context and tab, and the list of its requests that left 127.0.0.1."""
    context = browser.new_context(**options)
    outside: list[str] = []
    context.on("request", lambda request: outside.append(request.url) if _outside(request.url, app_url) else None)
    return context, context.new_page(), outside


def _outside(url: str, app_url: str) -> bool:
    return url.startswith(("http://", "https://", "ws://", "wss://")) and urlparse(url).hostname != "127.0.0.1"


def _no_errors(page) -> None:
    errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
    assert errors.count() == 0, errors.first.inner_text()


def _scalar(home, sql: str, *params):
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        return connection.execute(sql, list(params)).fetchone()[0]


def test_a_click_on_a_bar_opens_the_calls_behind_it(browser, app_url, home):
    context, page, outside = _page(browser, app_url, viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/costs", wait_until="load")
    _wait_for_page(page)
    bars = page.locator("[data-testid='stPlotlyChart'] .trace.bars .point path")
    bars.first.wait_for(timeout=60_000)
    box = bars.first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3)
    panel = page.locator("[class*='st-key-drill_costs_project']")
    panel.wait_for(timeout=60_000)
    page.wait_for_url(re.compile(r".*drill_project=.*"), timeout=60_000)
    project = parse_qs(urlparse(page.url).query)["drill_project"][0]
    expected = _scalar(home, f"select count(*) from marts.fct_llm_calls where project_id = ? and {WINDOW}", project)
    assert f"Calls behind project {project}: {expected:,} in this selection" in " ".join(panel.inner_text().split())
    # the URL is the view: a new tab opened on it shows the same calls without a click
    linked = context.new_page()
    linked.goto(page.url, wait_until="load")
    _wait_for_page(linked)
    again = linked.locator("[class*='st-key-drill_costs_project']")
    again.wait_for(timeout=60_000)
    assert f"{expected:,} in this selection" in again.inner_text()
    _no_errors(page)
    assert outside == []
    context.close()


def test_a_saved_dashboard_comes_back_after_a_reload(browser, app_url):
    context, page, outside = _page(browser, app_url, viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/my_dashboard", wait_until="load")
    _wait_for_page(page)
    page.get_by_role("heading", name="My dashboard").wait_for(timeout=60_000)
    arrange = page.locator("[data-testid='stExpander']", has_text="Arrange widgets")
    arrange.locator("[data-testid='stMarkdownContainer']", has_text="1. Number: Spend").wait_for(timeout=60_000)
    # the starter's chart (4th) moved to the top, its table (5th) removed, then saved; the rows as shown
    listing = (
        '[...document.querySelectorAll(\'[data-testid="stExpander"] [data-testid="stMarkdownContainer"]\')]'
        ".map(row => row.textContent.trim()).filter(row => /^\\d+\\. /.test(row)).join('|')"
    )
    for position in (3, 2, 1):  # index 3 -> 2 -> 1 -> 0, shown as 3., 2., 1.
        _wait_until_idle(page)  # the previous click's run has ended
        page.locator(f".st-key-my_up_{position} button").first.click()
        page.wait_for_function(
            f"(text) => {listing}.includes(text)", arg=f"{position}. Chart: Daily spend by project", timeout=60_000
        )
    _wait_until_idle(page)
    page.locator(".st-key-my_remove_4 button").first.click()
    order = "|".join(
        ["1. Chart: Daily spend by project", "2. Number: Spend", "3. Number: Calls", "4. Number: Error rate"]
    )
    page.wait_for_function(f"(text) => {listing} === text", arg=order, timeout=60_000)
    _wait_until_idle(page)
    page.locator(".st-key-my_dashboard_save button").first.click()
    page.get_by_text("Your saved layout.").wait_for(timeout=60_000)

    page.reload(wait_until="load")  # a new session: the layout comes from the identity store
    _wait_for_page(page)
    page.get_by_text("Your saved layout.").wait_for(timeout=60_000)
    # folded once saved: read from the DOM, not the screen; the rows are drawn after the caption waited for
    page.wait_for_function(f"(text) => {listing} === text", arg=order, timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # the chart drawn first
    _no_errors(page)
    assert outside == []
    context.close()


HALF = (len(PAGES) + 1) // 2
PHONE_RUNS = {  # (scheme, pages): every page in light, in two runs (each test stays short); a sample in dark
    "light-1": ("light", PAGES[:HALF]),
    "light-2": ("light", PAGES[HALF:]),
    "dark": ("dark", ["overview", "my_dashboard", "usage_map"]),
}


@pytest.mark.parametrize("run", list(PHONE_RUNS))
def test_every_page_fits_a_phone_screen(browser, app_url, run):
    scheme, paths = PHONE_RUNS[run]
    context, page, outside = _page(
        browser, app_url, viewport=PHONE, color_scheme=scheme, is_mobile=True, has_touch=True
    )
    for path in paths:
        page.goto(f"{app_url}/{'' if path == 'overview' else path}", wait_until="load")
        _wait_for_page(page)
        _no_errors(page)
        overflow = page.evaluate(
            """() => {
                const main = document.querySelector('[data-testid="stMain"]');
                return {page: document.documentElement.scrollWidth, main: main.scrollWidth, width: window.innerWidth};
            }"""
        )
        assert overflow["page"] <= overflow["width"] + 1 and overflow["main"] <= overflow["width"] + 1, (path, overflow)
    background = page.evaluate(
        "() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor"
    )
    assert background == {"light": "rgb(255, 255, 255)", "dark": "rgb(14, 17, 23)"}[scheme]
    assert outside == []
    context.close()


def test_an_open_overview_shows_a_new_snapshot_by_itself(browser, built_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    monkeypatch.setenv("AIOA_DASHBOARD_REFRESH_S", "2")
    spend = _scalar(home, f"select sum(cost_usd) from marts.agg_usage_daily where {WINDOW}")
    with _serving(home, tmp_path) as url:
        context, page, outside = _page(browser, url, viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="load")
        _wait_for_page(page)
        metric = page.locator("[data-testid='stMetric']", has_text="Spend").first
        metric.wait_for(timeout=60_000)
        assert f"${spend:,.2f}" in metric.inner_text()
        age = page.get_by_text(re.compile("Data published .* checks for new data every 2 s"))
        age.wait_for(timeout=60_000)
        before = age.inner_text()

        settings = Settings(home=home)
        writer = connect(settings)
        try:
            writer.execute("update marts.agg_usage_daily set cost_usd = cost_usd * 2")
            writer.execute("checkpoint")
        finally:
            writer.close()
        version = publish_snapshot(settings)

        page.wait_for_function(
            "(text) => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
            ".some(card => card.innerText.includes(text))",
            arg=f"${2 * spend:,.2f}",
            timeout=60_000,
        )
        page.get_by_text(f"Snapshot {version}").wait_for(timeout=60_000)  # the sidebar may be drawn after the cards
        assert page.get_by_text(f"Snapshot {version}").count() == 1  # the sidebar names the new snapshot
        assert page.get_by_text(re.compile("Data published")).inner_text() != before or version in page.content()
        _no_errors(page)
        assert outside == []
        context.close()
