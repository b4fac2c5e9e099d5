"""A report rendered from the built sample: the PDF's text and pages, the Excel sheets and cell types, the CSV and
Parquet tables all carry the same numbers as the same report's JSON, and the JSON's headline numbers equal the
marts summed here."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from aioa.reports.render.build import build_report
from aioa.reports.render.formats import ReportFormat, kpi_text, render, to_html
from aioa.reports.render.templates import BUILTIN
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot
from tests.reports.pdf import pdf_text_and_pages


@pytest.fixture(scope="module")
def rendered(built_home):
    connection, version = open_snapshot(Settings(home=built_home))
    with connection:
        report = build_report(connection, TenantScope.all_orgs(), BUILTIN["executive-monthly"], snapshot=version)
        spend = connection.execute(
            "select sum(cost_usd), sum(calls) from marts.agg_usage_daily where day between ? and ?",
            [report.start, report.end],
        ).fetchone()
    files = {output_format: render(report, output_format) for output_format in ReportFormat}
    return report, files, json.loads(files[ReportFormat.json]), spend


def _tables(document: dict) -> dict[str, list[dict]]:
    return {s["table"]["name"]: s["table"]["rows"] for s in document["sections"] if s["table"] is not None}


def test_json_headline_numbers_equal_the_marts(rendered):
    report, _, document, (spend, calls) = rendered
    assert document["period"] == {"start": report.start.isoformat(), "end": report.end.isoformat()}
    kpis = {kpi["metric"]: kpi["value"] for kpi in document["sections"][0]["kpis"]}
    assert kpis["spend"] == pytest.approx(float(spend)) and kpis["calls"] == pytest.approx(float(calls))
    by_model = next(rows for name, rows in _tables(document).items() if name.endswith("breakdown_model"))
    assert sum(row["cost_usd"] or 0 for row in by_model) == pytest.approx(float(spend))


def test_pdf_text_and_page_count(rendered):
    report, files, document, _ = rendered
    content = files[ReportFormat.pdf]
    assert content.startswith(b"%PDF-")
    text, pages = pdf_text_and_pages(content)
    from weasyprint import HTML

    assert pages == len(HTML(string=to_html(report)).render().pages) and pages >= 2
    assert "Executive summary" in text and f"Page {pages} of {pages}" in text
    for section in document["sections"]:
        assert section["title"] in " ".join(text.split())
        for kpi in section["kpis"]:  # every headline number of the JSON, as the PDF prints it
            assert kpi_text(kpi) in text, kpi
    by_model = next(rows for name, rows in _tables(document).items() if name.endswith("breakdown_model"))
    assert by_model[0]["model"] in text


def test_excel_has_one_typed_sheet_per_table_and_no_formulas(rendered):
    _, files, document, _ = rendered
    tables = _tables(document)
    workbook = openpyxl.load_workbook(io.BytesIO(files[ReportFormat.xlsx]))
    assert workbook.sheetnames == list(tables)
    for name, rows in tables.items():
        sheet = workbook[name]
        header = [cell.value for cell in sheet[1]]
        assert header == list(rows[0]) if rows else True
        for row, cells in zip(rows, sheet.iter_rows(min_row=2), strict=True):
            for (column, value), cell in zip(row.items(), cells, strict=True):
                assert cell.data_type != "f"
                if value is None:
                    assert cell.value is None
                elif isinstance(value, bool) or isinstance(value, str) and not _is_day(value):
                    assert cell.value == value, (name, column)
                elif isinstance(value, int | float):
                    assert isinstance(cell.value, int | float) and cell.value == pytest.approx(value), (name, column)
                else:  # a day: a date cell, not text
                    assert cell.is_date and isinstance(cell.value, datetime), (name, column)
                    assert cell.value.date().isoformat() == value[:10]
    assert workbook["01_kpis"]["D2"].data_type == "n"  # the spend is a number


def _is_day(value: str) -> bool:
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return len(value) in (10, 19) and value[4] == "-"


@pytest.mark.parametrize("output_format", [ReportFormat.csv, ReportFormat.parquet])
def test_csv_and_parquet_zips_hold_the_same_tables(rendered, output_format):
    _, files, document, _ = rendered
    tables = _tables(document)
    with zipfile.ZipFile(io.BytesIO(files[output_format])) as archive:
        assert archive.namelist() == [f"{name}.{output_format.value}" for name in tables]
        for name, rows in tables.items():
            raw = archive.read(f"{name}.{output_format.value}")
            frame = pd.read_csv(io.BytesIO(raw)) if output_format == "csv" else pd.read_parquet(io.BytesIO(raw))
            assert list(frame.columns) == (list(rows[0]) if rows else list(frame.columns))
            assert len(frame) == len(rows)
            for column in frame.select_dtypes("number").columns:
                expected = [float("nan") if row[column] is None else row[column] for row in rows]
                assert frame[column].tolist() == pytest.approx(expected, nan_ok=True), (name, column)


def test_every_builtin_template_renders_html_for_one_org(built_home):
    connection, version = open_snapshot(Settings(home=built_home))
    with connection:
        for template in BUILTIN.values():
            report = build_report(connection, TenantScope.for_orgs("globex"), template, snapshot=version)
            html = render(report, ReportFormat.html).decode()
            assert template.title in html and "initech" not in html and "acme" not in html.replace("acme-", "")


def test_the_cli_renders_a_template_to_a_file_and_names_the_choices_of_an_unknown_one(built_home, tmp_path):
    environment = os.environ | {"AIOA_HOME": str(built_home)}
    out = tmp_path / "routing.json"
    command = [sys.executable, "-m", "aioa.cli", "report", "render"]
    arguments = ["routing-savings", "--format", "json", "--out", str(out), "--org", "acme", "--month", "2026-11"]
    result = subprocess.run([*command, *arguments], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["period"] == {"start": "2026-11-01", "end": "2026-11-30"}
    assert document["filters"]["orgs"] == ["acme"] and document["template"] == "routing-savings"
    unknown = subprocess.run([*command, "weekly-ish"], env=environment, capture_output=True, text=True)
    assert unknown.returncode == 2 and "choose one of executive-monthly" in unknown.stderr
