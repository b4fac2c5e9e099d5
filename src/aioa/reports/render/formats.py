"""One built report, six formats. HTML and PDF (WeasyPrint) show the charts and readable tables; Excel has one sheet
per table with typed cells and no formulas; CSV and Parquet are a zip of one file per table; JSON holds every
number the others show."""

from __future__ import annotations

import base64
import html
import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from aioa import formatting
from aioa.reports.render.build import Report
from aioa.reports.render.names import EXTENSION, MIME, ReportFormat  # noqa: F401 - MIME: re-exported

TEMPLATE_FILE = Path(__file__).with_name("report.html.j2")


def render(report: Report, output_format: ReportFormat | str) -> bytes:
    output_format = ReportFormat(output_format)
    return {
        ReportFormat.pdf: to_pdf,
        ReportFormat.html: lambda item: to_html(item).encode(),
        ReportFormat.xlsx: to_xlsx,
        ReportFormat.csv: to_csv_zip,
        ReportFormat.json: lambda item: json.dumps(to_dict(item), indent=2).encode(),
        ReportFormat.parquet: to_parquet_zip,
    }[output_format](report)


def file_name(report: Report, output_format: ReportFormat | str) -> str:
    output_format = ReportFormat(output_format)
    return f"{report.template.name}-{report.start}_{report.end}.{EXTENSION.get(output_format, output_format.value)}"


# --- JSON -----------------------------------------------------------------------------------------------------------


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    return [{name: _plain(value) for name, value in row.items()} for row in frame.to_dict(orient="records")]


def to_dict(report: Report) -> dict:
    filters = {name: list(getattr(report.filters, name)) for name in ("orgs", "teams", "projects", "models")}
    return {
        "template": report.template.name,
        "title": report.template.title,
        "period": {"start": report.start.isoformat(), "end": report.end.isoformat()},
        "filters": filters,
        "snapshot": report.snapshot,
        "generated_at": report.generated_at.isoformat(),
        "sections": [
            {
                "kind": section.kind,
                "title": section.heading,
                "kpis": [{name: _plain(value) for name, value in kpi.items()} for kpi in section.kpis],
                "sentences": section.sentences,
                "table": None
                if section.table is None
                else {"name": section.table.name, "rows": records(section.table.frame)},
            }
            for section in report.sections
        ],
    }


# --- HTML and PDF ---------------------------------------------------------------------------------------------------


def _kpi_value(kpi: dict, key: str) -> str:
    return formatting.FORMATTERS[{"usd": "usd", "count": "count", "ratio": "ratio", "ms": "number"}[kpi["unit"]]](
        kpi[key]
    )


def kpi_text(kpi: dict) -> str:
    """A headline number as the HTML and PDF show it (the tests find it in the PDF's text)."""
    return _kpi_value(kpi, "value")


def to_html(report: Report, *, charts: bool = True) -> str:
    import jinja2

    from aioa.reports.render.charts import chart_png

    sections = []
    for section in report.sections:
        table = section.table
        show_table = table is not None and not table.frame.empty and section.kind not in ("kpis", "trend")
        sections.append(
            {
                "heading": section.heading,
                "kpis": [
                    {"label": kpi["label"], "value": kpi_text(kpi), "previous": _kpi_value(kpi, "previous")}
                    for kpi in section.kpis
                ],
                "chart": _data_uri(chart_png(section)) if charts else None,
                "sentences": section.sentences,
                "empty": table is None or table.frame.empty,
                "table_html": _table_html(table.frame) if show_table else None,
            }
        )
    orgs = ", ".join(report.filters.orgs) or "all orgs you may see"
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(TEMPLATE_FILE.read_text(encoding="utf-8")).render(
        title=report.template.title,
        period=f"{formatting.long_day(report.start)} – {formatting.long_day(report.end)}",
        scope=orgs,
        snapshot=report.snapshot,
        generated=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
    )


def _data_uri(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _table_html(frame: pd.DataFrame) -> str:
    """The table under its labels: numbers in their column's format (aioa.formatting; `*_usd` as money) and
    right-aligned, text as it is and left-aligned."""
    columns = []
    for name in frame.columns:
        column = formatting.column(name)
        numeric = pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
        if numeric and name.endswith("_usd") and column.kind != "usd":
            render = formatting.money
        elif numeric or column.kind in ("date", "datetime"):
            render = column.format
        else:
            render = formatting.FORMATTERS["text"]
        columns.append((column.label, render, "num" if numeric else "text", frame[name].tolist()))
    head = "".join(f'<th class="{kind}">{html.escape(label)}</th>' for label, _, kind, _ in columns)
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td class="{kind}">{html.escape(render(values[index]))}</td>' for _, render, kind, values in columns
        )
        + "</tr>"
        for index in range(len(frame))
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def to_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    return HTML(string=to_html(report)).write_pdf()


# --- Tables: Excel, CSV, Parquet ------------------------------------------------------------------------------------


def _sheet_name(name: str) -> str:
    return name[:31]  # Excel's limit


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones; dates become datetimes so the cells are dates, not text."""
    frame = frame.copy()
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            frame[name] = column.dt.tz_localize(None)
        elif column.dtype == object and column.map(lambda value: isinstance(value, date)).any():
            frame[name] = pd.to_datetime(column)
    return frame


def to_xlsx(report: Report) -> bytes:
    """One sheet per table: numbers as numbers, days as dates, text as text; never a formula (a value that starts
    with `=` is written as text)."""
    out = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(
        out,
        engine="xlsxwriter",
        date_format="yyyy-mm-dd",
        datetime_format="yyyy-mm-dd hh:mm",
        engine_kwargs={"options": options},
    ) as writer:
        for table in report.tables:
            frame = _naive(table.frame)
            frame.to_excel(writer, sheet_name=_sheet_name(table.name), index=False)
            writer.sheets[_sheet_name(table.name)].autofit()
    return out.getvalue()


def to_csv_zip(report: Report) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in report.tables:
            archive.writestr(f"{table.name}.csv", table.frame.to_csv(index=False, date_format="%Y-%m-%d"))
    return out.getvalue()


def to_parquet_zip(report: Report) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for table in report.tables:
            buffer = io.BytesIO()
            table.frame.to_parquet(buffer, index=False)
            archive.writestr(f"{table.name}.parquet", buffer.getvalue())
    return out.getvalue()
