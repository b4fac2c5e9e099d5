"""Static charts for the HTML and PDF formats: matplotlib (no browser, no network) to PNG, one per section that has
a chart: a trend's lines per series, a bar per row for the other sections. PNG, not SVG: WeasyPrint lays out six
SVG charts in ~2 s and six PNGs in ~0.1 s."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from aioa import formatting  # noqa: E402
from aioa.reports.render.build import BuiltSection, chart_frame  # noqa: E402

plt.rcParams.update({"font.size": 8, "axes.spines.top": False, "axes.spines.right": False})
WIDTH, HEIGHT = 7.0, 2.6  # inches: the width of an A4 page's text
DPI = 150


def chart_png(built: BuiltSection) -> bytes | None:
    """The section's chart as PNG bytes, or None when it has nothing to draw."""
    frame = chart_frame(built)
    if frame is None:
        return None
    value, series = built.value_column, built.series_column
    figure, axes = plt.subplots(figsize=(WIDTH, HEIGHT))
    try:
        if built.kind == "trend":
            wide = frame.pivot_table(index="day", columns=series, values=value, aggfunc="sum").fillna(0)
            for name in wide.columns:
                axes.plot(pd.to_datetime(wide.index), wide[name], label=str(name), linewidth=1.4)
            axes.legend(loc="upper left", ncols=4, frameon=False, fontsize=7)
            figure.autofmt_xdate()
        else:
            totals = frame.groupby(series, dropna=False)[value].sum().sort_values()
            axes.barh([str(name) for name in totals.index], totals.to_numpy(), color="#4c78a8")
        axis = axes.yaxis if built.kind == "trend" else axes.xaxis
        axis.set_major_formatter(FuncFormatter(lambda number, _: _tick(value, number)))
        axes.set_title(formatting.label(value), loc="left", fontsize=9)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI)
        return out.getvalue()
    finally:
        plt.close(figure)


def _tick(column: str, number: float) -> str:
    kind = formatting.column(column).kind
    if kind == "usd":
        return formatting.money(number, 0 if abs(number) >= 10 else 2)
    return formatting.percent(number, 0) if kind == "ratio" else formatting.compact(number)
