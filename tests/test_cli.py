"""The CLI contract scripts rely on: ingest summaries and reports as JSON, doctor listing unpriced models."""

from __future__ import annotations

import json

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
    runner.invoke(app, ["ingest", "claude-code", str(make_logs(tmp_path))])
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
                       count(distinct model)
                from raw.llm_calls group by day order by day
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
