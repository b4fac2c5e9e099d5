"""Light and dark themes: both are configured, their backgrounds are the ones the chart palettes are checked
against, every chart colour keeps 3:1 contrast on both, and charts are drawn with the Streamlit theme (they follow
the user's choice). The browser check of both themes at phone width is in test_browser_dashboards.py."""

from __future__ import annotations

import ast
import sys
import tomllib

import pytest

from aioa.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "apps" / "dashboard"))
import display  # noqa: E402 - the app's modules import each other by name

CONFIG = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())


def test_both_themes_are_configured_on_the_backgrounds_the_palettes_are_checked_against():
    theme = CONFIG["theme"]
    assert "base" not in theme  # no forced theme: the system setting, then the user's choice
    for name in ("light", "dark"):
        assert theme[name]["backgroundColor"] == display.BACKGROUNDS[name]


@pytest.mark.parametrize("dimension", sorted(display.PALETTES))
def test_every_chart_colour_reads_on_both_backgrounds(dimension):
    palette = display.PALETTES[dimension]
    assert len(palette) >= 10 or dimension == "model" and len(palette) >= 6
    assert len(set(palette)) == len(palette)
    for colour in palette:
        for background in display.BACKGROUNDS.values():
            assert display.contrast(colour, background) >= 3.0, (dimension, colour, background)


@pytest.mark.parametrize("section", ["theme", "light", "dark"])
def test_the_default_chart_colours_read_on_both_backgrounds(section):
    colours = (
        CONFIG["theme"]["chartCategoricalColors"]
        if section == "theme"
        else CONFIG["theme"][section]["chartCategoricalColors"]
    )
    assert len(colours) >= 8
    for colour in colours:
        for background in display.BACKGROUNDS.values():
            assert display.contrast(colour, background) >= 3.0, (colour, background)


def test_the_contrast_formula_matches_wcag():
    assert display.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert display.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_no_chart_opts_out_of_the_streamlit_theme():
    for path in (PROJECT_ROOT / "apps" / "dashboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "plotly_chart":
                for keyword in node.keywords:
                    assert not (keyword.arg == "theme" and isinstance(keyword.value, ast.Constant)), path
