"""The pipeline metrics (aioa metrics write/serve) equal what the warehouse and the last run report hold."""

from __future__ import annotations

import json
import time
from datetime import datetime

from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from aioa.cli import app
from aioa.settings import Settings
from aioa.warehouse.snapshots import open_snapshot


def test_textfile_matches_the_snapshot_and_the_last_run(built_home, tmp_path):
    path = tmp_path / "textfile" / "aioa.prom"
    before = time.time()
    done = CliRunner().invoke(app, ["metrics", "write", str(path)], env={"AIOA_HOME": str(built_home)})
    after = time.time()
    assert done.exit_code == 0, done.output
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }
    connection, _ = open_snapshot(Settings(home=built_home))  # the readers' configuration (other readers stay open)
    with connection:
        calls = dict(connection.execute("select source_system, count(*) from raw.llm_calls group by all").fetchall())
        tools = dict(connection.execute("select source_system, count(*) from raw.tool_calls group by all").fetchall())
        handoffs = connection.execute("select count(*) from raw.handoffs").fetchone()[0]
        rejected = dict(
            connection.execute(
                "select source_system, count(*) from raw.quarantine where severity = 'rejected' group by all"
            ).fetchall()
        )
        newest = connection.execute("select epoch(max(ts_utc)) from raw.llm_calls").fetchone()[0]
    assert values[("aioa_ingest_rows_total", (("source", "claude_code"),))] == calls["claude_code"] + tools.get(
        "claude_code", 0
    )
    assert values[("aioa_ingest_rows_total", (("source", "handoff_log"),))] >= handoffs > 0
    for source, count in rejected.items():
        assert values[("aioa_ingest_quarantined_total", (("source", source),))] == count
    assert values[("aioa_ingest_runs_total", (("source", "claude_code"), ("status", "ok")))] == 1
    lag = values[("aioa_ingest_lag_seconds", ())]
    assert before - newest <= lag <= after - newest
    pointer = json.loads((built_home / "snapshots" / "CURRENT").read_text())
    published = datetime.fromisoformat(pointer["published_at"]).timestamp()
    assert before - published <= values[("aioa_snapshot_age_seconds", ())] <= after - published

    report = json.loads((built_home / "status" / "last_pipeline_run.json").read_text())
    assert values[("aioa_pipeline_last_run_success", ())] == 1.0
    steps = {
        dict(labels)["step"]: value
        for (name, labels), value in values.items()
        if name == "aioa_pipeline_step_duration_seconds"
    }
    assert steps == {step["step"]: step["seconds"] for step in report["steps"]}
