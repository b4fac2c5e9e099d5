"""The CLI contract scripts rely on: ingest summaries and reports as JSON, CSV or a plain table on stdout, doctor
listing unpriced models and the pipeline's last run (also one Dagster launched), forecasts and anomalies shown from
what is stored."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from aioa.cli import app
from tests.ingest.transcripts import assistant, write_jsonl

runner = CliRunner()


def make_logs(tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(
        root / "projects" / "p" / "s1.jsonl",
        [
            assistant(
                "m1",
                "r1",
                output=100,
                input_tokens=10,
                cache_5m=1000,
                cache_1h=2000,
                cache_read=5000,
                ts="2026-03-01T23:30:00.000Z",
            ),
            assistant(
                "m2", "r2", output=50, input_tokens=5, ts="2026-03-02T08:00:00.000Z", model="claude-sonnet-4-5-20250929"
            ),
            assistant("m3", "r3", output=7, input_tokens=7, ts="2026-04-02T08:00:00.000Z", model="mystery-model-9"),
        ],
    )
    return root


def test_ingest_and_daily_report_json(settings, tmp_path):
    root = make_logs(tmp_path)
    result = runner.invoke(app, ["ingest", "claude-code", str(root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["files_read"], summary["rows_added"]["llm_calls"], summary["unpriced"]) == (1, 3, 1)

    daily = json.loads(runner.invoke(app, ["report", "daily", "--json"]).stdout)
    assert [row["date"] for row in daily] == ["2026-03-01", "2026-03-02", "2026-04-02"]
    first = daily[0]
    assert (
        first["input_tokens"],
        first["output_tokens"],
        first["cache_creation_tokens"],
        first["cache_read_tokens"],
    ) == (10, 100, 3000, 5000)
    # opus 4.6: 10*5 + 100*25 + 1000*6.25 + 2000*10 + 5000*0.5 per million tokens
    assert first["cost_usd"] == 0.0313
    assert first["models"][0]["model"] == "claude-opus-4-6"
    assert daily[2]["unpriced_calls"] == 1 and daily[2]["cost_usd"] == 0

    berlin = json.loads(runner.invoke(app, ["report", "daily", "--json", "--timezone", "Europe/Berlin"]).stdout)
    assert [row["date"] for row in berlin] == ["2026-03-02", "2026-04-02"]
    assert berlin[0]["output_tokens"] == 150

    monthly = json.loads(runner.invoke(app, ["report", "monthly", "--json", "--since", "2026-03-02"]).stdout)
    assert [(row["month"], row["output_tokens"]) for row in monthly] == [("2026-03", 50), ("2026-04", 7)]
    models = json.loads(runner.invoke(app, ["report", "model", "--json"]).stdout)
    assert [row["model"] for row in models] == ["claude-opus-4-6", "claude-sonnet-4-5-20250929", "mystery-model-9"]
    for kind, key in (("session", "session_id"), ("project", "project_id")):
        rows = json.loads(runner.invoke(app, ["report", kind, "--json"]).stdout)
        assert [row[key] for row in rows] == (["s1"] if kind == "session" else ["shop"])


def test_doctor_lists_models_without_a_price(settings, tmp_path):
    ingest = runner.invoke(app, ["ingest", "claude-code", str(make_logs(tmp_path))])
    lines = ingest.stdout.splitlines()  # the ingest's summary is output (stdout), not a message
    assert lines[0].startswith("ingest claude_code") and " ".join(lines[1].split()) == "files (seen / read) 1 / 1"
    result = runner.invoke(app, ["doctor", "--json"])
    report = json.loads(result.stdout)
    assert [entry["model"] for entry in report["unpriced_models"]] == ["mystery-model-9"]
    prices = next(check for check in report["checks"] if check["name"] == "prices")
    assert prices["status"] == "warn" and "mystery-model-9" in prices["detail"]


def test_errors_tell_the_user_what_to_do(settings):
    result = runner.invoke(app, ["report", "daily", "--json"])
    assert result.exit_code == 2
    assert "aioa ingest" in result.output
    assert runner.invoke(app, ["report", "weekly"]).exit_code == 2


def test_reports_summed_per_15_minute_bucket_equal_the_calls_in_every_time_zone(built_home):
    # Independent check: convert every call to local time and sum; the report converts buckets instead.

    from aioa.reports import usage_report
    from aioa.settings import Settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.connection import connect_reader
    from aioa.warehouse.snapshots import current_snapshot

    settings = Settings(home=built_home)
    _, path = current_snapshot(settings)
    # the readers' configuration: the API tests may still hold a reader of this snapshot in this process
    with connect_reader(path, settings) as connection:
        for zone in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"):
            expected = connection.execute(
                """
                select strftime(timezone($tz, ts_utc::timestamptz)::date, '%Y-%m-%d') as day,
                       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                       sum(cache_write_5m_tokens + cache_write_1h_tokens), coalesce(sum(cost_usd), 0)::double,
                       count(*) filter (where status = 'ok'), count(*) filter (where status = 'error'),
                       -- a `<synthetic>` error is its failing model's (the marts' model), never a model of its own
                       count(distinct coalesce(mart_model, model))
                from raw.llm_calls
                left join (select call_key, model as mart_model from marts.fct_llm_calls) using (call_key)
                group by day order by day
                """,
                {"tz": zone},
            ).fetchall()
            report = usage_report(connection, "daily", scope=TenantScope.all_orgs(), timezone=zone)
            assert [
                (
                    row["date"],
                    row["input_tokens"],
                    row["output_tokens"],
                    row["cache_read_tokens"],
                    row["cache_creation_tokens"],
                    round(row["cost_usd"], 6),
                    row["calls"],
                    row["errors"],
                    len(row["models"]),
                )
                for row in report
            ] == [(*values[:5], round(values[5], 6), *values[6:]) for values in expected]
        assert len(expected) > 30
        sessions = usage_report(connection, "session", scope=TenantScope.all_orgs(), timezone="Asia/Kathmandu")
        assert (
            sum(row["output_tokens"] for row in sessions)
            == connection.execute("select sum(output_tokens) from raw.llm_calls").fetchone()[0]
        )


def _aioa(home, *args: str) -> subprocess.CompletedProcess:
    """`aioa ARGS` as its own process with stdout a pipe (as in `aioa report monthly > file`)."""
    env = dict(os.environ, AIOA_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "aioa.cli", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_report_tables_go_to_stdout_with_a_totals_row_when_piped(built_home):
    from aioa.reports import usage_report
    from aioa.settings import Settings
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.connection import connect_reader
    from aioa.warehouse.snapshots import current_snapshot

    table, as_csv = _aioa(built_home, "report", "monthly"), _aioa(built_home, "report", "monthly", "--format", "csv")
    assert table.returncode == as_csv.returncode == 0, table.stderr
    settings = Settings(home=built_home)
    with connect_reader(current_snapshot(settings)[1], settings) as connection:
        rows = usage_report(connection, "monthly", scope=TenantScope.all_orgs())  # what `--json` prints
        # the totals, summed over the calls apart from the report
        tokens, calls, errors, cost = connection.execute(
            "select sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens "
            "+ cache_read_tokens), count(*) filter (where status = 'ok'), count(*) filter (where status = 'error'), "
            "sum(cost_usd)::double from raw.llm_calls"
        ).fetchone()
    lines = table.stdout.splitlines()
    assert lines[0] == "monthly usage" and lines[1].split()[:3] == ["month", "input", "output"]
    assert "\x1b[" not in table.stdout and "month" not in table.stderr  # plain text, and nothing on stderr
    assert [line.split()[0] for line in lines[3:-2]] == [row["month"] for row in rows]
    total = lines[-1].split()
    assert total[:3] == ["total", "(" + str(len(rows)), "rows)"]
    assert total[7:10] == [f"{tokens:,}", f"{calls:,}", f"{errors:,}"] and total[11] == f"${cost:,.2f}"
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(row["month"], int(row["total_tokens"]), float(row["cost_usd"])) for row in parsed] == [
        (row["month"], row["total_tokens"], row["cost_usd"]) for row in rows
    ]


def _dagster_run(monkeypatch, tmp_path, *, fail: bool):
    """A run of a job named like the pipeline job, made by Dagster itself (as the sensor launches one), stored in
    DAGSTER_HOME's run storage; `aioa run` is not involved."""
    from dagster import DagsterInstance, job, op

    home = tmp_path / "dagster"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    @op
    def load_the_logs() -> None:
        if fail:
            raise RuntimeError("the log folder vanished")

    @job(name="usage_pipeline")
    def usage_pipeline() -> None:
        load_the_logs()

    instance = DagsterInstance.get()
    try:
        result = usage_pipeline.execute_in_process(
            instance=instance, raise_on_error=False, tags={"dagster/sensor_name": "new_log_files"}
        )
    finally:
        instance.dispose()
    return result.run_id


def test_doctor_reports_a_pipeline_run_launched_by_dagster(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    before = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)
    pipeline = next(check for check in before["checks"] if check["name"] == "pipeline")
    assert pipeline["status"] == "warn" and "has not run yet" in pipeline["detail"]

    run_id = _dagster_run(monkeypatch, tmp_path, fail=False)
    result = runner.invoke(app, ["doctor", "--json"])
    pipeline = next(check for check in json.loads(result.stdout)["checks"] if check["name"] == "pipeline")
    assert pipeline["status"] == "ok" and run_id in pipeline["detail"] and "sensor new_log_files" in pipeline["detail"]
    assert result.exit_code == 0  # warnings only (no warehouse yet) ...
    assert runner.invoke(app, ["doctor", "--strict"]).exit_code == 1  # ... which --strict does not accept

    failed_id = _dagster_run(monkeypatch, tmp_path, fail=True)
    result = runner.invoke(app, ["doctor", "--json"])
    pipeline = next(check for check in json.loads(result.stdout)["checks"] if check["name"] == "pipeline")
    assert result.exit_code == 1 and pipeline["status"] == "error"
    assert failed_id in pipeline["detail"] or "load_the_logs" in pipeline["detail"]
    assert "the log folder vanished" in pipeline["detail"]


def test_forecast_and_anomalies_show_the_stored_results_the_same_on_every_call(built_home, tmp_path, monkeypatch):
    from aioa.settings import Settings
    from aioa.warehouse.snapshots import current_snapshot
    from tests.apps.stored_ml import ORG, frames, home_with_stored_ml

    home, last = home_with_stored_ml(built_home, tmp_path / "home")
    monkeypatch.setenv("AIOA_HOME", str(home))
    version = current_snapshot(Settings(home=home))[0]
    first, second = (runner.invoke(app, ["forecast", "--json"]) for _ in range(2))
    assert first.exit_code == second.exit_code == 0, first.output
    assert json.loads(first.stdout) == json.loads(second.stdout)
    payload = json.loads(first.stdout)
    stored = frames(last)["budget_projections"].iloc[0]
    projection = payload["budget_projections"][0]
    assert projection["org_id"] == ORG and projection["projected_month_end_usd"] == stored["projected_month_end_usd"]
    assert projection["prob_exceed_budget"] == 1.0 and payload["refit"] is False and payload["mlflow_run_id"] is None
    # Prophet lost to seasonal-naive on this series: the projection says whose it is
    assert projection["projection_model"] == "seasonal_naive" and projection["prophet_lost_to_baseline"] is True
    table = runner.invoke(app, ["forecast"])
    assert "Prophet lost to this baseline" in " ".join(table.stdout.split())

    one, two = (runner.invoke(app, ["anomalies", "--json"]) for _ in range(2))
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["anomalies"] == json.loads(two.stdout)["anomalies"]
    [spike] = json.loads(one.stdout)["anomalies"]
    assert (spike["kind"], spike["observed"], spike["driver_user"]) == ("cost_spike", 79.25, "amara")
    assert current_snapshot(Settings(home=home))[0] == version  # nothing re-fitted, stored or published
    assert not (home / "mlflow").exists() or not list((home / "mlflow").rglob("meta.yaml"))


def test_forecast_without_stored_results_says_how_to_make_them(built_home, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(built_home, tmp_path / "home")
    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "home"))
    result = runner.invoke(app, ["forecast"])
    assert result.exit_code == 2 and "aioa forecast --refit" in " ".join(result.output.split())
