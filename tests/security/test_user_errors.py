"""Tracebacks never reach users: the CLI prints what happened and what to do next with a non-zero exit code, the app
shows a short error with a reference id; the full details are in the error log under that reference."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aioa.settings import PROJECT_ROOT

AIOA = str(Path(sys.executable).with_name("aioa"))
APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")


def _aioa(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIOA_HOME": str(home), "COLUMNS": "200", **(env or {})}
    env.pop("AIOA_ATTRIBUTION_FILE", None)
    return subprocess.run([AIOA, *args], env=env, capture_output=True, text=True, timeout=120)


def _reference(output: str) -> str:
    match = re.search(r"reference ([0-9a-f]{8})", output)
    assert match, output
    return match.group(1)


def _corrupt_snapshot(home: Path) -> None:
    folder = home / "snapshots"
    folder.mkdir(parents=True)
    (folder / "warehouse-1.duckdb").write_bytes(b"this is not a database" * 100)
    (folder / "CURRENT").write_text(json.dumps({"version": "1", "file": "warehouse-1.duckdb"}))


def test_cli_without_data_says_what_to_run(tmp_path):
    result = _aioa(tmp_path, "quarantine")
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "No data yet" in result.stderr and "aioa run" in result.stderr


def test_cli_invalid_config_names_the_file_to_fix(tmp_path):
    (tmp_path / "attribution.yaml").write_text("orgs: 5\n")
    logs = tmp_path / "logs-in"
    logs.mkdir()
    (logs / "events.jsonl").write_text("{}\n")
    result = _aioa(tmp_path, "ingest", "handoffs", str(logs))
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "attribution.yaml" in result.stderr


def test_cli_unexpected_error_logs_details_under_the_reference(tmp_path):
    _corrupt_snapshot(tmp_path)
    result = _aioa(tmp_path, "report", "daily", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "Unexpected error" in result.stderr
    log = (tmp_path / "logs" / "errors.log").read_text()
    reference = _reference(result.stderr)
    assert f"reference={reference}" in log and "Traceback" in log


def test_cli_in_server_mode_with_the_server_down_says_which_setting_to_check(tmp_path):
    from tests.servers import free_port

    home = tmp_path / "home"
    home.mkdir()
    env = {"AIOA_WAREHOUSE": "postgres", "AIOA_POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:{free_port()}/test"}
    result = _aioa(home, "report", "daily", "--json", env=env)  # nothing listens on that port
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "PostgreSQL server cannot be reached" in result.stderr and "AIOA_POSTGRES_DSN" in result.stderr
    assert f"reference={_reference(result.stderr)}" in (home / "logs" / "errors.log").read_text()


def test_app_shows_a_reference_not_a_traceback(tmp_path, monkeypatch):
    _corrupt_snapshot(tmp_path)
    monkeypatch.setenv("AIOA_HOME", str(tmp_path))
    monkeypatch.setenv("AIOA_AUTH", "off")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    errors = [item.value for item in app.error]
    assert len(errors) == 1 and "Reference" in errors[0], errors
    reference = re.search(r"`([0-9a-f]{8})`", errors[0]).group(1)
    assert f"reference={reference}" in (tmp_path / "logs" / "errors.log").read_text()


@pytest.mark.parametrize("argv", [["report", "weekly"], ["report", "daily", "--since", "2026-02-31"]])
def test_cli_bad_arguments_exit_non_zero_with_a_hint(tmp_path, argv):
    result = _aioa(tmp_path, *argv)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
