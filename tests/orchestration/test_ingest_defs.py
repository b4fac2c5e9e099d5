"""The Dagster code location loads; the ingest asset reports what it loaded; the sensor fires on new files only."""

from __future__ import annotations

from dagster import build_sensor_context, materialize
from orchestration.defs.ingest.assets import INGEST_ASSETS
from orchestration.defs.ingest.resources import UsageLogsResource
from orchestration.defs.ingest.sensors import new_log_files

from tests.ingest.transcripts import append_jsonl, assistant, write_jsonl


def test_definitions_load_with_raw_tables_downstream_of_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("AIOA_HOME", str(tmp_path))
    from orchestration.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {
        "claude_code_logs",
        "handoff_logs",
        "otel_exports",
        "routing_outcome_logs",
        "raw/llm_calls",
        "raw/handoffs",
    } <= keys


def test_claude_code_asset_materialises_with_metadata(tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(root / "projects" / "p" / "s1.jsonl", [assistant("m1", "r1", output=5), "{bad"])
    resource = UsageLogsResource(aioa_home=str(tmp_path / "home"), claude_code_dirs=str(root))
    result = materialize([INGEST_ASSETS["claude_code"]], resources={"usage_logs": resource})
    metadata = result.asset_materializations_for_node("claude_code_logs")[0].metadata
    assert metadata["rows_added"].data == {"llm_calls": 1, "tool_calls": 0}
    assert metadata["quarantined"].value == 1


def test_sensor_requests_a_run_only_when_files_appear_or_grow(tmp_path):
    root = tmp_path / ".claude"
    path = write_jsonl(root / "projects" / "p" / "s1.jsonl", [assistant("m1", "r1", output=5)])
    resource = UsageLogsResource(aioa_home=str(tmp_path / "home"), claude_code_dirs=str(root))
    first = new_log_files(build_sensor_context(cursor=None, resources={"usage_logs": resource}))
    assert first.run_key
    context = build_sensor_context(cursor=first.run_key, resources={"usage_logs": resource})
    assert type(new_log_files(context)).__name__ == "SkipReason"
    append_jsonl(path, [assistant("m2", "r2", output=6)])
    grown = new_log_files(build_sensor_context(cursor=first.run_key, resources={"usage_logs": resource}))
    assert grown.run_key and grown.run_key != first.run_key


def test_a_configured_but_missing_source_fails_the_step_with_the_reason(tmp_path):
    resource = UsageLogsResource(aioa_home=str(tmp_path / "home"), claude_code_dirs=str(tmp_path / "gone"))
    result = materialize([INGEST_ASSETS["claude_code"]], resources={"usage_logs": resource}, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert "configured path not found" in failure.step_failure_data.error.message + str(
        failure.step_failure_data.user_failure_data.description if failure.step_failure_data.user_failure_data else ""
    )
