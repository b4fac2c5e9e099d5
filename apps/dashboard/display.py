"""How the app shows things: tables with human column labels, help text and formats (from `aioa.formatting`, the
one formatting layer the CLI uses too), one stable colour per org, model and project on every chart, and signed
deltas whose colour says whether the change is good."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st
from plotly.colors import unlabel_rgb

from aioa import formatting
from aioa.formatting import column

# The app's two themes' backgrounds (.streamlit/config.toml): chart colours must read on both.
BACKGROUNDS = {"light": "#ffffff", "dark": "#0e1117"}
MIN_CONTRAST = 3.0  # WCAG's minimum for graphical objects


def _luminance(colour: str) -> float:
    """WCAG relative luminance of #rrggbb."""
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4 for value in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    light, dark = sorted((_luminance(first.lower()), _luminance(second.lower())), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _hex(colour: str) -> str:
    """#rrggbb for '#RRGGBB' or 'rgb(r, g, b)' (plotly's palettes use both)."""
    if colour.startswith("rgb"):
        return "#{:02x}{:02x}{:02x}".format(*(int(float(part)) for part in unlabel_rgb(colour)))
    return colour.lower()


def legible(*palettes: list[str]) -> list[str]:
    """The palettes' colours (in order, once each) that keep MIN_CONTRAST against the light and the dark
    background: mid-tones, neither pastel (lost on white) nor near-black (lost on the dark theme)."""
    colours = dict.fromkeys(_hex(colour) for palette in palettes for colour in palette)
    return [
        colour for colour in colours if all(contrast(colour, ground) >= MIN_CONTRAST for ground in BACKGROUNDS.values())
    ]


# Palettes per dimension: an org, a model or a project keeps its colour on every page (its index in the sorted list
# of that dimension's values the reader may see), and the dimensions use different palettes.
qualitative = px.colors.qualitative
PALETTES = {
    "org": legible(qualitative.Bold, qualitative.Vivid),
    "model": legible(qualitative.Safe, qualitative.Dark2, qualitative.D3),
    "project": legible(qualitative.Dark24),
    "team": legible(qualitative.T10, qualitative.G10),
    "user": legible(qualitative.Alphabet, qualitative.Light24),
}
_OPTION_KEYS = {"org": "orgs", "model": "models", "project": "projects", "team": "teams"}

_NUMBER_FORMATS = {"usd": "dollar", "count": "localized", "tokens": "localized", "ratio": "percent", "score": "%.3f"}


def colour_map(dimension: str, values=None) -> dict[str, str]:
    """{value: colour} for one dimension: stable across pages because it follows the sorted list of every value the
    reader may see (the filter options), not the values one chart happens to draw."""
    palette = PALETTES.get(dimension, PALETTES["org"])
    known: list[str] = []
    if dimension in _OPTION_KEYS:
        import loaders
        from page_kit import page_context

        try:
            context = page_context()
        except KeyError:
            context = None
        if context is not None:
            known = list(loaders.filter_options(context.version, context.scope)[_OPTION_KEYS[dimension]])
    extra = sorted({str(value) for value in (values if values is not None else []) if pd.notna(value)} - set(known))
    ordered = sorted(known) + extra
    return {value: palette[index % len(palette)] for index, value in enumerate(ordered)}


def display_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The frame as shown (counts rounded, durations in seconds) and its `column_config` (labels, help, formats)."""
    shown = (
        frame.dropna(axis="columns", how="all") if len(frame) else frame
    ).copy()  # a column of nothing says nothing
    config: dict = {}
    for name in shown.columns:
        spec = column(str(name))
        values = shown[name]
        if spec.kind in ("count", "tokens") and pd.api.types.is_numeric_dtype(values):
            shown[name] = values.round().astype("Int64")
        if spec.kind in _NUMBER_FORMATS and pd.api.types.is_numeric_dtype(shown[name]):
            config[name] = st.column_config.NumberColumn(
                spec.label, help=spec.help or None, format=_NUMBER_FORMATS[spec.kind]
            )
        elif spec.kind == "duration_ms" and pd.api.types.is_numeric_dtype(values):
            shown[name] = values / 1000
            config[name] = st.column_config.NumberColumn(f"{spec.label} (s)", help=spec.help or None, format="%.2f")
        elif spec.kind in ("date", "datetime") and _is_time(values):
            midnight_only = spec.kind == "date" or _all_midnight(values)
            if pd.api.types.is_datetime64_any_dtype(values):
                config[name] = st.column_config.DatetimeColumn(
                    spec.label, help=spec.help or None, format="YYYY-MM-DD" if midnight_only else "YYYY-MM-DD HH:mm"
                )
            else:
                config[name] = st.column_config.DateColumn(spec.label, help=spec.help or None, format="YYYY-MM-DD")
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            # thousands separators, at most three decimals
            config[name] = st.column_config.NumberColumn(spec.label, help=spec.help or None, format="localized")
        else:
            config[name] = st.column_config.Column(spec.label, help=spec.help or None)
    return shown, config


def _is_time(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    sample = values.dropna().head(5)
    return not sample.empty and all(hasattr(value, "isoformat") for value in sample)


def _all_midnight(values: pd.Series) -> bool:
    stamps = pd.to_datetime(values.dropna())
    return bool(stamps.empty or ((stamps.dt.hour == 0) & (stamps.dt.minute == 0) & (stamps.dt.second == 0)).all())


def table(frame: pd.DataFrame, **options) -> None:
    """A read-only table with human labels and formats (no download buttons: `page_kit.downloadable_table`)."""
    shown, config = display_frame(frame)
    st.dataframe(shown, column_config=config, hide_index=True, width="stretch", **options)


def axis_labels(*names: str) -> dict[str, str]:
    """Plotly `labels=` for these columns: the label and, for money, the unit."""
    labels = {}
    for name in names:
        spec = column(name)
        unit = {"usd": " (USD)", "tokens": " (tokens)", "ratio": " (%)", "duration_ms": " (ms)"}.get(spec.kind, "")
        labels[name] = spec.label + unit
    return labels


# Metrics where a rise is bad (their delta is drawn red when it goes up).
UP_IS_BAD = {"spend_usd", "error_rate", "unpriced_calls", "cost_usd", "errors", "error_calls"}
# Metrics where a change is neither good nor bad by itself.
NEUTRAL = {"tokens", "calls"}


def delta_colour(name: str) -> str:
    if name in UP_IS_BAD:
        return "inverse"
    return "off" if name in NEUTRAL else "normal"


SIGNED = {
    "usd": formatting.signed_money,
    "ratio": lambda value: formatting.signed_percent(value, 2),
    "tokens": formatting.signed_compact,
    "count": formatting.signed_count,
}
