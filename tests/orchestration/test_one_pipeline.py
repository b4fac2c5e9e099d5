"""One pipeline: `aioa run` materialises the Dagster job of the code location (the same asset keys, ML included),
routing outcomes are ingested by their asset when configured, and `aioa run --json` keeps its report shape."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

ROUTING_CSV = 'prompt,cheap-model,strong-model\n"What is 2+2?",True,True\n"Name a prime",False,True\n'


@pytest.fixture(scope="module")
def cli_run(sample_dir, tmp_path_factory):
    """`aioa run --json` once, ML included, on the sample plus a routing-outcome CSV, configured the way a user
    configures sources (AIOA_* path settings), in a temp home with a temp DAGSTER_HOME."""
    from aioa.cli import app

    root = tmp_path_factory.mktemp("one-pipeline")
    home, dagster_home, outcomes = root / "home", root / "dagster", root / "outcomes"
    for folder in (home, dagster_home, outcomes):
        folder.mkdir()
    shutil.copy(sample_dir / "attribution.yaml", home / "attribution.yaml")
    (outcomes / "tiny.csv").write_text(ROUTING_CSV)
    env = {
        "AIOA_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "AIOA_CLAUDE_CODE_DIRS": ",".join(str(path) for path in sorted(sample_dir.glob("claude-code/*/.claude"))),
        "AIOA_HANDOFF_PATHS": str(sample_dir / "handoffs"),
        "AIOA_OTEL_PATHS": str(sample_dir / "otel"),
        "AIOA_ROUTING_OUTCOME_PATHS": str(outcomes),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("AIOA_MLFLOW_TRACKING_URI", raising=False)  # MLflow in the temp home
        result = CliRunner().invoke(app, ["run", "--json"])
        assert result.exit_code == 0, result.output
        yield home, json.loads(result.stdout)


def test_aioa_run_and_the_dagster_job_materialise_the_same_asset_keys(cli_run):
    from orchestration.definitions import defs

    from aioa.pipeline import pipeline_job_name

    _, report = cli_run
    job = defs.resolve_job_def(pipeline_job_name())
    job_keys = sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys)
    assert report["materialized"] == job_keys
    assert {
        "claude_code_logs",
        "routing_outcome_logs",
        "marts/fct_llm_calls",
        "ml/forecasts",
        "ml/anomalies",
        "ml/router",
        "read_snapshot",
    } <= set(job_keys)
    steps = [step["step"] for step in report["steps"]]
    assert steps.count("publish snapshot") == 1 and steps[-1] == "publish snapshot"  # once, after the ML assets
    assert {"ml forecasts", "ml anomalies", "ml router"} <= set(steps)


def test_routing_outcomes_are_ingested_by_their_asset_when_configured(cli_run):
    home, report = cli_run
    step = next(step for step in report["steps"] if step["step"] == "ingest routing_outcomes")
    assert step["status"] == "ok" and step["details"]["rows_added"] == {"handoffs": 2}
    from aioa.settings import Settings
    from aioa.warehouse.snapshots import open_snapshot

    connection, version = open_snapshot(Settings(home=home))
    with connection:
        assert version == report["snapshot_version"]
        prompts = connection.execute(
            "select task_text from marts.fct_handoffs where target_model = 'cheap-model' order by 1"
        ).fetchall()
        stored = connection.execute("select count(*) from ml.forecasts").fetchone()[0]
    assert prompts == [("Name a prime",), ("What is 2+2?",)]
    assert stored > 0  # the ML tables are in the one published snapshot


def test_aioa_run_json_keeps_the_report_shape(cli_run):
    home, report = cli_run
    assert report["status"] == "ok" and report["failed_step"] is None and report["message"] is None
    assert report["snapshot_version"] and report["started_at"]
    for step in report["steps"]:
        assert set(step) >= {"step", "status", "seconds", "details"} and step["status"] == "ok"
        assert isinstance(step["seconds"], float)
    assert {"ingest claude_code", "ingest handoffs", "ingest otel", "raw tables", "dbt build", "quality checks"} <= {
        step["step"] for step in report["steps"]
    }
    saved = json.loads((home / "status" / "last_pipeline_run.json").read_text())
    assert saved == report


def test_the_job_without_ml_is_the_same_graph_minus_the_ml_group():
    from aioa.pipeline import job_asset_keys, pipeline_asset_keys

    everything, without_ml = set(pipeline_asset_keys()), set(pipeline_asset_keys(include_ml=False))
    assert everything == job_asset_keys()
    assert {key.to_user_string() for key in everything - without_ml} == {
        "ml/forecasts",
        "ml/anomalies",
        "ml/router",
        "ml/performance_predictor",
        "ml/capacity_forecast",
        "ml/routing_drift",
    }


def test_a_missing_routing_outcome_path_fails_its_step_and_publishes_nothing(built_home, tmp_path):
    from aioa.pipeline import PipelineError, SourcePaths, run_pipeline
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot
    from tests.warehouse.conftest import copy_home

    settings = copy_home(built_home, tmp_path)  # a copy without snapshots
    with pytest.raises(PipelineError) as failure:
        run_pipeline(settings, SourcePaths(routing_outcomes=[tmp_path / "gone.csv"]), include_ml=False)
    assert failure.value.step == "ingest routing_outcomes" and "gone.csv" in failure.value.message
    with pytest.raises(NoSnapshotError):
        current_snapshot(settings)  # nothing was published
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        assert (
            connection.execute("select count(*) from raw.handoffs where target_model = 'cheap-model'").fetchone()[0]
            == 0
        )


def test_a_new_user_with_two_days_of_logs_gets_a_snapshot_ml_included(tmp_path, monkeypatch):
    """Too little history for forecasts, anomalies or a router is said in the step details, never a failed run:
    the one publish after the ML assets must not depend on the ML having enough data."""
    from aioa.pipeline import SourcePaths, run_pipeline
    from aioa.settings import Settings
    from aioa.warehouse.snapshots import open_snapshot
    from tests.ingest.transcripts import assistant, write_jsonl

    projects = tmp_path / ".claude" / "projects" / "-home-alice-src-shop"
    write_jsonl(
        projects / "s1.jsonl",
        [
            assistant("m1", "r1", output=100, ts="2026-11-27T10:00:00.000Z"),
            assistant("m2", "r2", output=50, ts="2026-11-28T09:00:00.000Z"),
        ],
    )
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("AIOA_MLFLOW_TRACKING_URI", raising=False)
    report = run_pipeline(Settings(home=home), SourcePaths(claude_code=[tmp_path / ".claude"]))
    assert report.status == "ok", report.message
    forecast_step = next(step for step in report.steps if step["step"] == "ml forecasts")
    assert forecast_step["status"] == "ok"
    connection, version = open_snapshot(Settings(home=home))
    with connection:
        assert version == report.snapshot_version
        assert connection.execute("select sum(output_tokens) from marts.fct_llm_calls").fetchone()[0] == 150
