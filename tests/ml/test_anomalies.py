"""Anomaly detection on the generated sample: precision and recall against its labels, the right drivers, observed
values equal to the marts, clear messages on bad input, the CLI, the stored table, MLflow, and the Dagster asset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from ml.anomalies.config import DEFAULT_THRESHOLDS
from ml.anomalies.data import AnomalyDataError
from ml.anomalies.detect import detect
from ml.anomalies.score import score_series
from typer.testing import CliRunner

from aioa.settings import Settings
from aioa.warehouse.snapshots import current_snapshot, open_snapshot

# the documented matching rule, written out again here so the metric is checked independently of evaluate.py
ACCEPTED = {"runaway_agent": {"runaway_agent", "usage_surge"}}
STRONG = 3.0  # labels are drawn from 1.5x to 10x per seed; recall >= 0.9 is the target from 3x (issue 14)


@pytest.fixture(scope="module")
def anomaly_home(built_home, sample_dir, tmp_path_factory):
    """A copy of the built home with the sample's labels where the CLI and Dagster look for them, and one MLflow
    database for the whole module (creating one costs most of the time)."""
    home = tmp_path_factory.mktemp("anomalies") / "home"
    shutil.copytree(built_home, home)
    (home / "sample" / "labels").mkdir(parents=True)
    shutil.copy(sample_dir / "labels" / "anomalies.json", home / "sample" / "labels" / "anomalies.json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIOA_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster")))
        patch.delenv("AIOA_MLFLOW_TRACKING_URI", raising=False)
        yield home


@pytest.fixture(scope="module")
def cli_payload(anomaly_home) -> dict:
    from aioa.cli import app

    result = CliRunner().invoke(app, ["anomalies", "--json", "--refit"])  # detect (the default shows stored ones)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def labels(sample_dir) -> list[dict]:
    return json.loads((sample_dir / "labels" / "anomalies.json").read_text())


def _when(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize(None) if pd.Timestamp(text).tzinfo else pd.Timestamp(text)


def _matches(detection: dict, label: dict) -> bool:
    return (
        detection["org_id"] == label["org_id"]
        and detection["kind"] in ACCEPTED.get(label["kind"], {label["kind"]})
        and _when(detection["start"]) <= _when(label["end"])
        and _when(label["start"]) < _when(detection["end"])
    )


def test_precision_and_recall_on_the_labelled_sample(cli_payload, labels):
    detections = cli_payload["anomalies"]
    strong = [label for label in labels if label["magnitude"] >= STRONG]
    found = sum(any(_matches(detection, label) for detection in detections) for label in labels)
    found_strong = sum(any(_matches(detection, label) for detection in detections) for label in strong)
    correct = sum(any(_matches(detection, label) for label in labels) for detection in detections)
    precision, recall = correct / len(detections), found / len(labels)
    assert strong and precision >= 0.9 and found_strong / len(strong) >= 0.9, cli_payload["evaluation"]
    assert cli_payload["evaluation"]["precision"] == pytest.approx(precision)
    assert cli_payload["evaluation"]["recall"] == pytest.approx(recall)
    labelled_kinds = {label["kind"] for label in labels} | {"usage_surge"}
    assert {detection["kind"] for detection in detections} <= labelled_kinds


def test_each_labelled_anomaly_is_found_with_the_right_driver(cli_payload, labels):
    for label in labels:
        found = [detection for detection in cli_payload["anomalies"] if _matches(detection, label)]
        assert found or label["magnitude"] < STRONG, f"missed {label['kind']} in {label['org_id']}"
        for detection in found:
            if label["user_id"]:
                assert detection["driver_user"] == label["user_id"], (label, detection)
            if label["model"]:
                assert detection["driver_model"] == label["model"], (label, detection)
            if label["kind"] == "usage_surge":  # the surge's extra sessions spread over all of the user's projects
                assert label["project_id"] in detection["drivers"] and detection["driver_user_share"] > 0.5
            else:
                assert detection["driver_project"] == label["project_id"], (label, detection)


def _org_level(detection: dict) -> bool:
    """The org's own series fired, so observed and expected are the org's (else the top user's); an alert's
    evidence lists its speaking detection's first, then the other detections of the same event after "; "."""
    return any(part.startswith("org ") for part in detection["evidence"].split("; ")[0].split(", "))


def _some(payload: dict, kind: str, grain: str) -> list[dict]:
    return [item for item in payload["anomalies"] if item["kind"] == kind and item["grain"] == grain]


def test_observed_values_equal_the_marts(cli_payload, anomaly_home):
    connection, _ = open_snapshot(Settings(home=anomaly_home))
    with connection:

        def query(sql: str, detection: dict) -> float:
            return connection.execute(
                sql, [detection["org_id"], _when(detection["start"]), _when(detection["end"])]
            ).fetchone()[0]

        checked = 0
        for burst in _some(cli_payload, "error_burst", "hour"):
            if not _org_level(burst):
                continue  # judged on one user's series: observed is that user's
            assert burst["observed"] == query(
                "select count(*) from marts.fct_llm_calls where is_error and org_id = ? and ts_utc >= ? and ts_utc < ?",
                burst,
            )
            checked += 1
        for spike in _some(cli_payload, "cost_spike", "day"):
            if not _org_level(spike):
                continue
            assert spike["observed"] == pytest.approx(
                query(
                    "select sum(cost_usd) from marts.fct_llm_calls where org_id = ? and ts_utc >= ? and ts_utc < ?",
                    spike,
                )
            )
            checked += 1
        for latency in _some(cli_payload, "latency_degradation", "day"):
            # "org <model> <source> latency_ms": one series; the source 'otel events' is Claude Code's api_request
            # log events (call keys otel:log:...), 'otel' the spans
            source = latency["evidence"].split("; ")[0].split(" ", 2)[2].removesuffix(" latency_ms")
            assert source in {"otel", "otel events"}, latency["evidence"]
            assert latency["observed"] == pytest.approx(
                connection.execute(
                    "select avg(latency_ms) from marts.fct_llm_calls where org_id = ? and model = ? "
                    "and source_system = 'otel' and (call_key like 'otel:log:%') = ? and ts_utc >= ? and ts_utc < ?",
                    [
                        latency["org_id"],
                        latency["driver_model"],
                        source == "otel events",
                        _when(latency["start"]),
                        _when(latency["end"]),
                    ],
                ).fetchone()[0]
            )
            assert latency["observed"] >= DEFAULT_THRESHOLDS.latency_min_ratio * latency["expected"]  # its floor
            checked += 1
        assert checked >= 2


def test_the_stored_table_is_tenant_scoped_and_the_run_is_in_mlflow(cli_payload, anomaly_home):
    from mlflow.tracking import MlflowClient

    from aioa import analytics
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.ml_tables import read_ml_table

    settings = Settings(home=anomaly_home)
    stored = read_ml_table(settings, "anomalies", TenantScope.all_orgs())
    assert len(stored) == len(cli_payload["anomalies"]) and stored["org_id"].notna().all()
    connection, _ = open_snapshot(settings)
    with connection:
        acme = analytics.ml_table(connection, TenantScope.for_orgs("acme"), table="anomalies")
    assert len(acme) == (stored["org_id"] == "acme").sum() > 0 and set(acme["org_id"]) == {"acme"}
    run = MlflowClient(settings.mlflow_uri).get_run(cli_payload["mlflow_run_id"])
    assert run.data.params["score"] == str(DEFAULT_THRESHOLDS.score)
    assert run.data.params["latency_score"] == str(DEFAULT_THRESHOLDS.latency_score)
    assert run.data.metrics["precision"] == cli_payload["evaluation"]["precision"]
    assert run.data.metrics["anomalies"] == len(stored)


def test_a_hand_built_spike_is_found_exactly_once():
    days = pd.date_range("2026-01-05", periods=16 * 7, freq="D")  # 16 weeks starting on a Monday
    weekly = np.array([40, 44, 44, 42, 34, 8, 5], dtype=float)[days.weekday]
    values = pd.Series(np.random.default_rng(3).poisson(weekly).astype(float), index=days)
    spike_day = days[100]  # a Thursday
    values[spike_day] += 400  # usage is bursty (whole sessions), so an anomaly must dwarf the usual level
    scored = score_series(values, "day")
    assert scored.loc[scored["anomalous"], "period"].tolist() == [spike_day]
    spike = scored[scored["period"] == spike_day].iloc[0]
    assert abs(spike["expected"] - 42) < 8  # the median of the earlier Thursdays, not of the whole week


def test_too_short_and_constant_series_give_a_clear_message():
    days = pd.date_range("2026-01-05", periods=20, freq="D")
    with pytest.raises(AnomalyDataError, match="too little history: 20 days; need at least 35"):
        score_series(pd.Series(np.arange(20.0), index=days))
    days = pd.date_range("2026-01-05", periods=70, freq="D")
    with pytest.raises(AnomalyDataError, match="constant series"):
        score_series(pd.Series(5.0, index=days))
    with pytest.raises(AnomalyDataError, match="grain"):
        score_series(pd.Series(5.0, index=days), "week")


def test_four_days_of_warehouse_data_give_a_clear_message(built_home):
    _, snapshot = current_snapshot(Settings(home=built_home))
    connection = duckdb.connect()
    connection.execute(f"attach '{snapshot}' as source (read_only)")
    connection.execute("create schema marts")
    for table in ("agg_usage_hourly", "agg_usage_daily", "fct_llm_calls"):
        connection.execute(
            f"create table marts.{table} as select * from source.marts.{table} "
            "where day > (select max(day) - 4 from source.marts.fct_llm_calls)"
        )
    with pytest.raises(AnomalyDataError, match="too little history"):
        detect(connection)


def test_a_warehouse_of_constant_usage_gives_a_clear_message():
    connection = duckdb.connect()  # eight weeks of one call an hour, each its own session: nothing ever moves
    connection.execute("create schema marts")
    connection.execute("""
        create table marts.fct_llm_calls as
        select hour, cast(hour as date) as day, hour as ts_utc, 'acme' as org_id, 'ann' as user_id,
               'web' as project_id, 'claude-haiku-4-5' as model, 's' || cast(hour as varchar) as session_id,
               false as is_error, 0.01 as cost_usd, cast(null as bigint) as latency_ms
        from range(timestamp '2026-01-05', timestamp '2026-03-02', interval 1 hour) as hours(hour)""")
    for table, period in (("agg_usage_hourly", "hour"), ("agg_usage_daily", "day")):
        connection.execute(f"""
            create table marts.{table} as
            select {period}, org_id, user_id, project_id, model, count(*) as calls,
                   sum(is_error::int) as error_calls, sum(cost_usd) as cost_usd
            from marts.fct_llm_calls group by all""")
    with pytest.raises(AnomalyDataError, match="every series is constant"):
        detect(connection)


def test_cli_without_a_snapshot_exits_2_with_a_message(settings):
    from aioa.cli import app

    result = CliRunner().invoke(app, ["anomalies", "--json"])
    assert result.exit_code == 2 and "No anomaly detection" in result.output
    assert "no published snapshot" in " ".join(result.output.split())  # the console may wrap the line


def test_the_dagster_asset_and_its_checks(cli_payload, anomaly_home):
    import dagster
    from orchestration.defs.ml.assets import anomalies
    from orchestration.defs.ml.checks import anomalies_match_labels, anomalies_name_their_drivers
    from orchestration.defs.warehouse.resources import WarehouseResource

    warehouse = WarehouseResource(aioa_home=str(anomaly_home))
    result = dagster.materialize(
        [anomalies, anomalies_match_labels, anomalies_name_their_drivers], resources={"warehouse": warehouse}
    )
    assert result.success
    checks = {check.check_name: check.passed for check in result.get_asset_check_evaluations()}
    assert checks == {"anomalies_match_labels": True, "anomalies_name_their_drivers": True}
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["anomalies"].value == len(cli_payload["anomalies"]) and "recall" in metadata

    # a label the detector cannot have found (a quiet Sunday) drops recall below 0.9: the check fails
    labels_file = Path(anomaly_home) / "sample" / "labels" / "anomalies.json"
    original = labels_file.read_text()
    extra = {
        "kind": "error_burst",
        "start": "2026-08-02T00:00:00Z",
        "end": "2026-08-02T23:59:00Z",
        "grain": "day",
        "org_id": "initech",
        "project_id": "core-ledger",
        "user_id": "ivan",
        "model": None,
        "magnitude": 8.0,
    }
    labels = json.loads(original)
    strong = [label for label in labels if label["magnitude"] >= STRONG]
    found = sum(any(_matches(detection, label) for detection in cli_payload["anomalies"]) for label in strong)
    labels_file.write_text(json.dumps([*labels, extra]))
    try:
        verdict = anomalies_match_labels(dagster.build_asset_check_context(), warehouse=warehouse)
    finally:
        labels_file.write_text(original)
    assert verdict.passed is False and f"at >= 3x ({found}/{len(strong) + 1})" in verdict.description

    # without labels (real data) the check reports alert volume and its stability; it never claims quality
    labels_file.rename(labels_file.with_suffix(".hidden"))
    try:
        verdict = anomalies_match_labels(dagster.build_asset_check_context(), warehouse=warehouse)
    finally:
        labels_file.with_suffix(".hidden").rename(labels_file)
    assert verdict.description.startswith("no labels: quality not measured")
    assert verdict.severity == dagster.AssetCheckSeverity.WARN
    assert {"alerts_per_org_month", "recent_per_org_month", "in_band"} <= set(verdict.metadata)
    assert verdict.passed == verdict.metadata["in_band"].value


def test_one_event_seen_at_several_levels_is_one_alert():
    """An error burst seen in the org's hour, the user's day and its session is one alert (the most specific kind,
    the shortest window) carrying all three detections' evidence; a latency window in the same hours stays its own
    alert, and a detection a day later in the same org is another event."""
    from ml.anomalies.detect import COLUMNS, alerts

    def row(kind, grain, start, hours, evidence, score=6.0):
        start = pd.Timestamp(start)
        return {
            **dict.fromkeys(COLUMNS),
            "org_id": "acme",
            "kind": kind,
            "grain": grain,
            "start": start,
            "end": start + pd.Timedelta(hours=hours),
            "score": score,
            "evidence": evidence,
        }

    detections = pd.DataFrame(
        [
            row("usage_surge", "day", "2026-10-01", 24, "alice calls"),
            row("error_burst", "hour", "2026-10-01 14:00", 1, "org error_calls", 30.0),
            row("error_burst", "hour", "2026-10-01 14:00", 1, "session s1 error_calls", 4.0),
            row("latency_degradation", "day", "2026-10-01", 48, "org gpt-4o otel latency_ms"),
            row("usage_surge", "day", "2026-10-03", 24, "bob sessions"),
        ]
    )
    merged = alerts(detections).sort_values(["start", "kind"], ignore_index=True)
    assert merged["kind"].tolist() == ["latency_degradation", "error_burst", "usage_surge"]
    burst = merged.iloc[1]
    assert burst["evidence"] == "org error_calls; session s1 error_calls; alice calls" and burst["score"] == 30.0
    assert burst["start"] == pd.Timestamp("2026-10-01 14:00") and burst["grain"] == "hour"
    assert merged.iloc[2]["evidence"] == "bob sessions"


def test_a_cost_spike_session_is_dearer_per_call_and_in_all():
    """Session scores on hand-built calls: 60 ordinary sessions (3-14 calls, each session's cost per call about $0.04
    with a model mix spreading it by a factor e^0.3), then three sessions. A short session on a dear model (2 calls
    at $0.10: far dearer per call, cheaper in all) is not a cost spike, a session writing huge caches (8 calls at
    $0.40) is one, and a looping session (80 calls at $0.04) is large but not a cost spike (its cost comes from its
    calls)."""
    from ml.anomalies.sessions import session_scores, spike_scores

    rng = np.random.default_rng(5)
    rows = []
    for index in range(60):
        start = pd.Timestamp("2026-03-01 09:00") + pd.Timedelta(hours=11 * index)
        per_call = 0.04 * float(np.exp(rng.normal(0, 0.3)))
        for call in range(int(rng.integers(3, 15))):
            rows.append((f"s{index:02d}", start + pd.Timedelta(minutes=call), per_call))
    last = pd.Timestamp("2026-04-01 10:00")
    for session, calls, cost in (("short", 2, 0.10), ("spike", 8, 0.40), ("loop", 80, 0.04)):
        rows += [(session, last + pd.Timedelta(minutes=call), cost) for call in range(calls)]
    connection = duckdb.connect()
    connection.execute("create schema marts")
    frame = pd.DataFrame(rows, columns=["session_id", "ts_utc", "cost_usd"])  # noqa: F841 (read by DuckDB)
    connection.execute("""
        create table marts.fct_llm_calls as
        select 'acme' as org_id, 'ann' as user_id, 'claude_code' as source_system, session_id, ts_utc,
               cast(ts_utc as date) as day, false as is_error, cost_usd
        from frame""")
    scores = session_scores(connection).set_index("session_id")
    spikes = spike_scores(scores.reset_index()).set_axis(scores.index)
    threshold = DEFAULT_THRESHOLDS.session_cost_spike_score
    assert scores.loc["short", "cost_per_call_score"] > 2.9  # alone, this raised a cost spike until 2026-11-30
    assert spikes["short"] < threshold
    assert spikes["spike"] >= threshold
    assert np.isnan(spikes["loop"]) and scores.loc["loop", "size_score"] >= DEFAULT_THRESHOLDS.session_size_score
    assert (spikes.drop(["short", "spike", "loop"]).fillna(0) < threshold).all()


def test_spans_and_request_events_of_one_model_are_separate_latency_series():
    """Latency on hand-built calls: one model's OTel spans (median 1.1 s, log-sd 0.4) and Claude Code's request events
    arriving through OTel (call keys otel:log:..., median 3 s, log-sd 0.8), five of each a day for six weeks; on the
    last day the spans run 3x slower. Scored apart, the slow spans' day is well beyond the latency threshold; pooled
    with the events (as until 2026-11-30) the same day scored below it."""
    from ml.anomalies.latency import latency_scores

    rng = np.random.default_rng(11)
    rows = []
    days = pd.date_range("2026-03-01", periods=42, freq="D")
    for day in days:
        slow = 3.0 if day == days[-1] else 1.0
        for index in range(5):
            rows.append((f"otel:{day:%m%d}{index:02d}:0", day, float(np.exp(rng.normal(7.0, 0.4))) * slow))
            rows.append((f"otel:log:{day:%m%d}{index:02d}", day, float(np.exp(rng.normal(8.0, 0.8)))))
    connection = duckdb.connect()
    connection.execute("create schema marts")
    frame = pd.DataFrame(rows, columns=["call_key", "day", "latency_ms"])  # noqa: F841 (read by DuckDB)
    connection.execute("""
        create table marts.fct_llm_calls as
        select call_key, 'acme' as org_id, 'gpt-4o' as model, 'otel' as source_system, cast(day as date) as day,
               round(latency_ms)::bigint as latency_ms
        from frame""")
    scores = latency_scores(connection)
    assert set(scores["source_system"]) == {"otel", "otel events"}
    last = scores[(scores["period"] == days[-1]) & (scores["days"] == 1)].set_index("source_system")["score"]
    assert last["otel"] >= DEFAULT_THRESHOLDS.latency_score + 2
    assert abs(last["otel events"]) < DEFAULT_THRESHOLDS.latency_score
    connection.execute("update marts.fct_llm_calls set call_key = 'otel:' || call_key")  # every call a span: pooled
    pooled = latency_scores(connection)
    assert set(pooled["source_system"]) == {"otel"}
    pooled_last = pooled[(pooled["period"] == days[-1]) & (pooled["days"] == 1)]["score"].iloc[0]
    assert pooled_last < DEFAULT_THRESHOLDS.latency_score < last["otel"]


def test_a_sparse_latency_series_reaches_back_for_its_reference():
    """A model sent two spans every ten days (log-sd 0.4) for 200 days, then two spans 6x slower: the 28 days before
    hold 4-6 spans, fewer than a score needs (`latency_min_calls`, 8), so until 2026-11-30 the day went unscored; the
    reference now reaches back over whole earlier days until it holds 8 spans, and scores the day far beyond the
    threshold. A series whose 28 days hold enough calls keeps just those."""
    from ml.anomalies.config import Thresholds
    from ml.anomalies.latency import latency_scores

    rng = np.random.default_rng(3)
    days = pd.date_range("2026-01-02", periods=20, freq="10D")
    slow_day = days[-1] + pd.Timedelta(days=10)
    rows = [(day, float(np.exp(rng.normal(7.0, 0.4)))) for day in days for _ in range(2)]
    rows += [(slow_day, 6.0 * float(np.exp(rng.normal(7.0, 0.4)))) for _ in range(2)]
    connection = duckdb.connect()
    connection.execute("create schema marts")
    frame = pd.DataFrame(rows, columns=["day", "latency_ms"])  # noqa: F841 (read by DuckDB)
    connection.execute("""
        create table marts.fct_llm_calls as
        select 'otel:' || row_number() over () as call_key, 'globex' as org_id, 'claude-sonnet' as model,
               'otel' as source_system, cast(day as date) as day, round(latency_ms)::bigint as latency_ms
        from frame""")
    recent = sum(1 for day, _ in rows if slow_day - pd.Timedelta(days=28) <= day < slow_day)
    assert recent < DEFAULT_THRESHOLDS.latency_min_calls
    scores = latency_scores(connection).set_index(["period", "days"])
    assert scores.loc[(slow_day, 1), "reference_calls"] == DEFAULT_THRESHOLDS.latency_min_calls
    assert scores.loc[(slow_day, 1), "score"] >= DEFAULT_THRESHOLDS.latency_score + 2
    enough = latency_scores(connection, Thresholds(latency_min_calls=recent)).set_index(["period", "days"])
    assert enough.loc[(slow_day, 1), "reference_calls"] == recent
