"""The publication gate: a failing error-severity Great Expectations check stops the run before the snapshot is
published, names the check, and leaves the previous snapshot current and readable."""

from __future__ import annotations

import json

import duckdb
import pytest

from aioa.pipeline import PipelineError, SourcePaths, last_report, run_pipeline
from aioa.quality.suites import ERROR, MIN_DRIFTED_LINES, SUITES
from aioa.warehouse.snapshots import current_snapshot, open_snapshot, publish_snapshot
from tests.ingest.transcripts import assistant, write_jsonl
from tests.warehouse.conftest import copy_home


def test_every_error_suite_checks_what_dbt_does_not():
    """Keys, nulls, ranges and reconciliation are dbt's; the error-severity suites judge the raw input's shape."""
    assert {suite.name for suite in SUITES if suite.severity == ERROR} == {"raw_schema_drift"}
    for suite in SUITES:
        assert "unique" not in suite.sql.lower() and "usage_key" not in suite.sql


def test_schema_drift_in_the_input_blocks_publication(built_home, tmp_path):
    settings = copy_home(built_home, tmp_path)
    version_before = publish_snapshot(settings)  # this copy's own snapshot, current before the drift

    # The log format changed: every line of a new session carries a usage field the contract does not know.
    drifted = []
    for index in range(MIN_DRIFTED_LINES * 3):
        line = assistant(
            f"msg_drift_{index}",
            f"req_drift_{index}",
            output=100 + index,
            session="drift-1",
            ts=f"2026-11-20T{10 + index // 60:02d}:{index % 60:02d}:00.000Z",
        )
        line["message"]["usage"]["reasoning_output_tokens_v9"] = 50 + index
        drifted.append(line)
    new_logs = tmp_path / "drift" / ".claude"
    write_jsonl(new_logs / "projects" / "shop" / "drift-1.jsonl", drifted)

    with pytest.raises(PipelineError) as failure:
        run_pipeline(settings, SourcePaths(claude_code=[new_logs]), include_ml=False)

    report = last_report(settings)
    assert report["status"] == "failed" and report["snapshot_version"] is None
    assert failure.value.step in ("quality checks", "publish snapshot")
    named = json.dumps(report["steps"]) + failure.value.message
    assert "raw_schema_drift" in named
    steps = {step["step"]: step["status"] for step in report["steps"]}
    assert steps.get("publish snapshot") != "ok"

    assert current_snapshot(settings)[0] == version_before  # the previous snapshot is still CURRENT
    connection, version = open_snapshot(settings)
    with connection:
        assert version == version_before
        assert (
            connection.execute("select count(*) from marts.fct_llm_calls where session_id = 'drift-1'").fetchone()[0]
            == 0
        )  # readers see nothing of the drifted input
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as working:
        failed = working.execute(
            "select distinct suite from quality.check_results where check_run_id = "
            "(select max(check_run_id) from quality.check_results) and severity = 'error' and not success"
        ).fetchall()
    assert failed == [("raw_schema_drift",)]
