"""The report file formats, their MIME types and file endings (light: the CLI imports it at start-up)."""

from __future__ import annotations

from enum import StrEnum


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"
    xlsx = "xlsx"
    csv = "csv"
    json = "json"
    parquet = "parquet"


MIME = {
    ReportFormat.pdf: "application/pdf",
    ReportFormat.html: "text/html",
    ReportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.csv: "application/zip",
    ReportFormat.json: "application/json",
    ReportFormat.parquet: "application/zip",
}
EXTENSION = {ReportFormat.csv: "csv.zip", ReportFormat.parquet: "parquet.zip"}
