"""The backtest replays a rule over the last N days of the generated sample: a rule on error calls per org fires
on exactly the days and orgs of the labelled error bursts. The labels are read here, to judge; the rule sees only
the marts. Also: cron ticks in a time zone, and the backtest's CLI contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from aioa.rules.cron import CronExpression
from aioa.rules.engine import backtest
from aioa.rules.spec import parse_rule
from aioa.settings import Settings

ERROR_BURSTS = {
    "name": "error-burst",
    "trigger": {"kind": "metric_threshold", "metric": "error_calls", "group_by": ["org"]},
    "condition": "value >= 10.0 && value > 5.0 * baseline",
    "actions": [{"type": "notify", "email": ["ops@acme.example"]}],
}
ORGS = ("acme", "globex", "initech")


def test_the_backtest_fires_on_the_labelled_error_bursts_and_on_no_other_day(built_home: Path, sample_dir: Path):
    settings = Settings(home=built_home)
    rule = parse_rule(ERROR_BURSTS)
    results = {org: backtest(settings, org, rule, days=90) for org in ORGS}
    fired = {(org, entry["day"]) for org, entries in results.items() for entry in entries}
    labels = json.loads((sample_dir / "labels" / "anomalies.json").read_text())
    bursts = {(label["org_id"], label["start"][:10]) for label in labels if label["kind"] == "error_burst"}
    assert bursts and fired == bursts
    # the numbers: the day's error calls, and the median of the 28 days before (days without usage count 0)
    daily = _daily_errors(settings)
    for org, entries in results.items():
        for entry in entries:
            (incident,) = entry["incidents"]
            day = pd.Timestamp(entry["day"])
            series = daily.get(org, pd.Series(dtype=float))
            before = series.reindex(
                pd.date_range(day - pd.Timedelta(days=28), day - pd.Timedelta(days=1)), fill_value=0
            )
            assert incident["facts"]["value"] == series[day]
            assert incident["facts"]["baseline"] == before.median()


def _daily_errors(settings: Settings) -> dict[str, pd.Series]:

    from aioa.warehouse.snapshots import open_snapshot

    connection, _ = open_snapshot(settings)  # the readers' configuration: other tests' readers of it may be open
    with connection:
        frame = connection.execute(
            "select org_id, day, sum(error_calls)::double as errors from marts.agg_usage_daily group by all"
        ).df()
    frame["day"] = pd.to_datetime(frame["day"])
    return {org: rows.set_index("day")["errors"].sort_index() for org, rows in frame.groupby("org_id")}


def test_backtest_cli_lists_days_and_incidents_without_sending(
    built_home: Path, sample_dir: Path, tmp_path, monkeypatch
):
    import yaml

    from aioa.cli import app

    monkeypatch.setenv("AIOA_HOME", str(built_home))
    path = tmp_path / "rule.yaml"
    path.write_text(yaml.safe_dump(ERROR_BURSTS))
    labels = json.loads((sample_dir / "labels" / "anomalies.json").read_text())
    org, day = next((label["org_id"], label["start"][:10]) for label in labels if label["kind"] == "error_burst")
    identity_before = _stat(built_home / "identity.db")  # other tests in this process may have made one
    result = CliRunner().invoke(app, ["rules", "test", str(path), "--days", "90", "--org", org, "--json"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["day"] == day
    (incident,) = entry["incidents"]
    assert incident["group"] == {"org": org} and incident["facts"]["value"] >= 10
    assert not (built_home / "identity.db").exists() or identity_before == _stat(
        built_home / "identity.db"
    )  # nothing stored


def test_cron_ticks_follow_the_time_zone_and_its_daylight_saving():
    monday_nine = CronExpression.parse("0 9 * * 1")
    week = monday_nine.ticks(datetime(2026, 10, 18, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC), "Europe/Berlin")
    # 9:00 in Berlin is 07:00 UTC in summer time (until 25 October) and 08:00 UTC after it
    assert week == [
        datetime(2026, 10, 19, 7, tzinfo=UTC),
        datetime(2026, 10, 26, 8, tzinfo=UTC),
        datetime(2026, 11, 2, 8, tzinfo=UTC),
    ]
    every_quarter = CronExpression.parse("*/15 8-9 1,15 * *")
    ticks = every_quarter.ticks(datetime(2026, 11, 14, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC), "UTC")
    assert [tick.strftime("%d %H:%M") for tick in ticks] == [
        f"15 {h:02d}:{m:02d}" for h in (8, 9) for m in (0, 15, 30, 45)
    ]


def test_sla_and_quarantine_triggers_give_the_warehouse_numbers(built_home: Path):
    """p95 latency per model over the week and the quarantine rate, compared with SQL on the snapshot itself."""

    from aioa.warehouse.snapshots import open_snapshot

    settings = Settings(home=built_home)
    connection, _ = open_snapshot(settings)  # the readers' configuration: other tests' readers of it may be open
    with connection:
        last = connection.execute("select max(day) from marts.agg_usage_daily where org_id = 'globex'").fetchone()[0]
        expected = dict(
            connection.execute(
                "select model, quantile_cont(latency_ms, 0.95) from marts.fct_llm_calls where org_id = 'globex' "
                "and latency_ms is not null and day between ? - interval 6 day and ? group by model",
                [last, last],
            ).fetchall()
        )
        rejected = connection.execute(
            "select count(*) from raw.quarantine where org_id = 'globex' and severity = 'rejected'"
        ).fetchone()[0]
        loaded = connection.execute("select count(*) from raw.llm_calls where org_id = 'globex'").fetchone()[0]
    slow = parse_rule(
        {
            "name": "slow",
            "trigger": {"kind": "sla_breach", "metric": "latency_p95_ms", "above": 0, "window_days": 7, "min_calls": 1},
            "actions": [{"type": "notify", "email": ["ops@acme.example"]}],
        }
    )
    (entry,) = backtest(settings, "globex", slow, days=1)
    found = {incident["group"]["model"]: incident["facts"]["value"] for incident in entry["incidents"]}
    assert expected and found == expected

    bad_input = parse_rule(
        {
            "name": "bad-input",
            "trigger": {"kind": "quarantine_rate", "above": 0.0, "window_days": 90},
            "actions": [{"type": "notify", "email": ["ops@acme.example"]}],
        }
    )
    (entry,) = backtest(settings, "globex", bad_input, days=1)
    (incident,) = entry["incidents"]
    assert rejected > 0 and incident["facts"]["quarantined"] == rejected
    assert incident["facts"]["rate"] == rejected / (rejected + loaded)


def _stat(path: Path) -> tuple[int, int] | None:
    return (path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else None
