"""`aioa report daily --json`, `aioa ingest` and `aioa --help` stay light: no pandas, Dagster, MLflow or LangChain
on their path (each costs a noticeable part of a second at start-up, and neither needs them); `--help` does not
even load DuckDB or the settings (pydantic-settings), which only a command that reads data needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_probe import run_cli
from tests.ingest.transcripts import assistant, write_jsonl

# DuckDB 1.5 (pinned for encryption at rest) would import pandas on the first bound parameter: these commands keep
# it out with `aioa.warehouse.pandas_free.without_pandas`.
HEAVY = ("dagster", "mlflow", "langchain", "langchain_core", "sklearn", "pandas")
NOT_FOR_HELP = ("duckdb", "pydantic_settings", "pyarrow", "numpy", "genai_prices")
# 15-45 ms each that a report does not need: jinja2 (dbt's `<synthetic>` macro is plain SQL, put together without
# it), fsspec (only an archive that holds something needs its file system), Click itself (Typer carries a copy).
NOT_FOR_REPORT = ("jinja2", "fsspec", "click")


def _run(args: list[str], home: Path) -> tuple[dict, str]:
    watched = HEAVY + NOT_FOR_HELP + NOT_FOR_REPORT + ("pyarrow.dataset",)
    probed = run_cli(args, {**os.environ, "AIOA_HOME": str(home)}, watched)
    return {"code": probed.code, "heavy": probed.imported}, probed.stdout


@pytest.fixture
def claude_logs(tmp_path: Path) -> Path:
    logs = tmp_path / "claude"
    write_jsonl(
        logs / "projects" / "-home-alice-src-shop" / "s1.jsonl",
        [assistant("msg_1", "req_1", output=5), assistant("msg_2", "req_2", output=7)],
    )
    return logs


@pytest.fixture
def ingested_home(tmp_path: Path, claude_logs: Path) -> Path:
    home = tmp_path / "home"
    logs = claude_logs
    env = {**os.environ, "AIOA_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "aioa.cli", "ingest", "claude-code", str(logs), "--json"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home


def test_report_daily_imports_no_heavy_library(ingested_home: Path) -> None:
    result, stdout = _run(["report", "daily", "--json"], ingested_home)
    assert result["code"] == 0
    assert sum(row["output_tokens"] for row in json.loads(stdout)) == 12  # the report really ran
    heavy = [name for name in result["heavy"] if name in HEAVY]
    assert heavy == [], f"`aioa report daily --json` imported {heavy}"
    assert "numpy" not in result["heavy"] and "pyarrow" not in result["heavy"]  # pandas would bring both
    needless = [name for name in result["heavy"] if name in NOT_FOR_REPORT]
    assert needless == [], f"`aioa report daily --json` imported {needless}"


def test_ingest_imports_no_heavy_library(tmp_path: Path, claude_logs: Path) -> None:
    result, stdout = _run(["ingest", "claude-code", str(claude_logs), "--json"], tmp_path / "fresh-home")
    assert result["code"] == 0
    assert json.loads(stdout)["rows_added"]["llm_calls"] == 2  # the ingest really ran
    heavy = [name for name in result["heavy"] if name in HEAVY]
    assert heavy == [], f"`aioa ingest claude-code` imported {heavy}"
    assert "pyarrow.dataset" not in result["heavy"]  # DuckDB would import it to scan an Arrow table (0.3 CPU-s)
    assert "fsspec" not in result["heavy"]  # nothing archived: the archive's file system is never built


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    result, _ = _run(["--help"], tmp_path / "home")
    assert result["code"] == 0
    assert result["heavy"] == [], f"`aioa --help` imported {result['heavy']}"  # not even DuckDB or the settings
