"""The whole pipeline: marts reconcile with raw and with the generator's truth; incremental runs handle new and
late data exactly like a full rebuild; reads never block: four reader processes query continuously while those two
rebuilds run in another process, and see zero errors and only complete snapshots (marts consistent with raw in every
snapshot they open); a failing step publishes nothing and says why."""

from __future__ import annotations

import json
import multiprocessing
import signal
import time
from pathlib import Path

import duckdb
import pytest

from aioa.pipeline import PipelineError, SourcePaths, last_report, run_pipeline
from aioa.settings import Settings
from aioa.warehouse.snapshots import current_snapshot, open_snapshot, publish_snapshot
from tests.ingest.transcripts import assistant, write_jsonl
from tests.warehouse.conftest import copy_home, mart_totals


def _query(connection):
    return lambda sql: connection.execute(sql.format(marts="marts")).fetchone()


def test_marts_match_the_generator_truth(built_home, sample_dir):
    from aioa.settings import Settings

    truth = json.loads((sample_dir / "truth" / "expected_totals.json").read_text())["claude_code"]
    connection, _ = open_snapshot(Settings(home=built_home))
    with connection:
        # the truth counts real responses; the made-up `<synthetic>` error lines (not billed) count as their model's
        per_day_model = connection.execute(
            "select day, model, count(*), sum(input_tokens), sum(output_tokens), sum(cache_write_5m_tokens), "
            "sum(cache_write_1h_tokens), sum(cache_read_tokens) from marts.fct_llm_calls "
            "where source_system = 'claude_code' and price_status <> 'not_billed' group by all"
        ).fetchall()
        sessions = connection.execute(
            "select count(*) from marts.fct_sessions where session_id not like 'gap:%' "
            "and session_id in (select session_id from marts.fct_llm_calls where source_system = 'claude_code')"
        ).fetchone()[0]
    got = {(str(day), model): tuple(values) for day, model, *values in per_day_model}
    expected = {
        (row["date"], row["model"]): (
            row["calls"],
            row["input_tokens"],
            row["output_tokens"],
            row["cache_write_5m_tokens"],
            row["cache_write_1h_tokens"],
            row["cache_read_tokens"],
        )
        for row in truth["per_day_model"]
    }
    assert got == expected
    assert sessions == truth["distinct_sessions"]


def test_every_layer_reconciles_and_reruns_change_nothing(built_home, tmp_path):
    settings = copy_home(built_home, tmp_path)
    connection, _ = open_snapshot(type(settings)(home=built_home))
    with connection:
        before = mart_totals(_query(connection))
        raw_calls, raw_cost = connection.execute("select count(*), sum(cost_usd)::double from raw.llm_calls").fetchone()
        check_failures = connection.execute(
            "select count(*) from quality.check_results where not success and severity = 'error'"
        ).fetchone()[0]
    assert before["fct_llm_calls"][0] == before["agg_usage_daily"][1] == before["fct_sessions"][1] == raw_calls
    assert before["fct_llm_calls"][5] == pytest.approx(raw_cost, abs=1e-6)
    assert check_failures == 0

    report = run_pipeline(settings, SourcePaths.from_sample(_sample_of(built_home)), include_ml=False)
    assert report.status == "ok"
    connection, _ = open_snapshot(settings)
    with connection:
        assert mart_totals(_query(connection)) == before


def _sample_of(built_home):
    # the fixture that built this home ingested the session sample; its paths are in the manifest
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as connection:
        path = connection.execute(
            # the shortest: a file at the top of the sample's handoffs folder (not legacy/…)
            "select path from raw.ingest_manifest where source_system = 'handoff_log' order by length(path), path limit 1"
        ).fetchone()[0]
    from pathlib import Path

    return Path(path).parents[1]


CONSISTENT = """
select (select count(*) from raw.llm_calls) = (select count(*) from marts.fct_llm_calls)
   and (select count(*) from marts.fct_llm_calls) = (select sum(calls) from marts.agg_usage_daily)
   and (select sum(calls) from marts.agg_usage_daily) = (select sum(calls) from marts.agg_usage_hourly)
"""
OUTPUT_ON_DAY = "select coalesce(sum(output_tokens), 0) from marts.agg_usage_daily where day = ?"


def _reader(home: str, stop, results) -> None:
    settings = Settings(home=Path(home))
    queries = errors = incomplete = 0
    versions = set()
    while not stop.is_set():
        try:
            connection, version = open_snapshot(settings)
            with connection:
                if not connection.execute(CONSISTENT).fetchone()[0]:
                    incomplete += 1
            versions.add(version)
            queries += 1
        except Exception as error:  # noqa: BLE001 - every error is counted and reported
            errors += 1
            results.put(("error", repr(error)))
        time.sleep(0.2)  # a busy dashboard's pace; at 0.05 s four readers took most of a 2-core machine from the writer
    results.put(("summary", queries, errors, incomplete, len(versions)))


def _writer(home: str, sample: str, late: str, measured) -> None:
    """New and late data incrementally, then every mart dropped and rebuilt; what each run published, for the test."""
    settings = Settings(home=Path(home))
    sources = SourcePaths.from_sample(Path(sample))
    sources.claude_code.append(Path(late))
    run_pipeline(settings, sources, include_ml=False)  # new data: incremental rebuild
    connection, _ = open_snapshot(settings)
    with connection:
        late_day = connection.execute(OUTPUT_ON_DAY, ["2026-09-01"]).fetchone()[0]
        new_day = connection.execute(OUTPUT_ON_DAY, ["2026-11-21"]).fetchone()[0]
        incremental = mart_totals(_query(connection))
    run_pipeline(settings, sources, full_refresh=True, include_ml=False)  # every mart dropped and rebuilt
    connection, _ = open_snapshot(settings)
    with connection:
        full_refresh = mart_totals(_query(connection))
    measured.put({"late_day": late_day, "new_day": new_day, "incremental": incremental, "full_refresh": full_refresh})


@pytest.fixture(scope="module")
def rebuilt_while_read(built_home, tmp_path_factory) -> dict:
    """A copy of the built home given one call on a new day and one arriving late for a day already built, rebuilt
    by a writer process (incrementally, then with a full refresh) while four reader processes query its snapshots.
    The output tokens of both days in the built home, what the writer measured after each run, the readers'
    summaries and errors."""
    tmp_path = tmp_path_factory.mktemp("rebuilt-while-read")
    settings = copy_home(built_home, tmp_path)
    publish_snapshot(settings)  # this copy's first snapshot
    late_dir = tmp_path / "late" / ".claude"
    write_jsonl(
        late_dir / "projects" / "p" / "late.jsonl",
        [
            assistant(
                "msg_new", "req_new", output=700, input_tokens=30, ts="2026-11-21T10:00:00.000Z", session="late-1"
            ),
            assistant(
                "msg_old", "req_old", output=500, input_tokens=20, ts="2026-09-01T12:00:00.000Z", session="late-2"
            ),
        ],
    )
    connection, _ = open_snapshot(settings.model_copy(update={"home": built_home}))
    with connection:
        before = {day: connection.execute(OUTPUT_ON_DAY, [day]).fetchone()[0] for day in ("2026-09-01", "2026-11-21")}

    context = multiprocessing.get_context("spawn")
    stop, results, measured = context.Event(), context.Queue(), context.Queue()
    readers = [context.Process(target=_reader, args=(str(settings.home), stop, results)) for _ in range(4)]
    for reader in readers:
        reader.start()
    time.sleep(3)  # readers are up and querying before the writer starts
    sample = _sample_of(built_home)
    writer = context.Process(target=_writer, args=(str(settings.home), str(sample), str(late_dir), measured))
    writer.start()
    writer.join(timeout=600)
    stop.set()
    summaries, errors = [], []
    for _ in readers:
        item = results.get(timeout=60)
        while item[0] == "error":
            errors.append(item[1])
            item = results.get(timeout=60)
        summaries.append(item)
    for reader in readers:
        reader.join(timeout=30)
    return {
        "before": before,
        "writer_exitcode": writer.exitcode,
        "writer": measured.get(timeout=10) if writer.exitcode == 0 else None,
        "summaries": summaries,
        "errors": errors,
    }


def test_new_and_late_data_land_incrementally_like_a_full_rebuild(rebuilt_while_read):
    assert rebuilt_while_read["writer_exitcode"] == 0
    before, after = rebuilt_while_read["before"], rebuilt_while_read["writer"]
    assert after["late_day"] - before["2026-09-01"] == 500
    assert before["2026-11-21"] == 0 and after["new_day"] == 700
    assert after["full_refresh"] == after["incremental"]


def test_four_readers_see_no_errors_and_only_complete_snapshots(rebuilt_while_read):
    summaries = rebuilt_while_read["summaries"]
    assert rebuilt_while_read["writer_exitcode"] == 0
    assert rebuilt_while_read["errors"] == []
    assert all(summary[2] == 0 and summary[3] == 0 for summary in summaries), summaries
    assert all(summary[1] > 20 for summary in summaries), summaries  # they really queried throughout
    assert max(summary[4] for summary in summaries) >= 3  # first, incremental, full refresh: they saw both appear


def test_a_failing_test_publishes_nothing_and_reports_the_step(built_home, tmp_path):
    settings = copy_home(built_home, tmp_path)
    version_before = publish_snapshot(settings)  # this copy's first snapshot (a rerun publishes the same marts)
    with duckdb.connect(str(settings.warehouse_path)) as connection:  # raw is changed behind the loader's back
        connection.execute(
            "update raw.llm_calls set output_tokens = output_tokens + 5 where call_key = "
            "(select min(call_key) from raw.llm_calls)"
        )
    with pytest.raises(PipelineError) as failure:
        run_pipeline(settings, SourcePaths(), include_ml=False)
    assert failure.value.step == "dbt build"
    assert "assert_llm_call_totals_reconcile" in failure.value.message  # marts no longer match raw
    assert current_snapshot(settings)[0] == version_before
    connection, _ = open_snapshot(settings)  # the previous snapshot stays readable
    with connection:
        assert connection.execute("select count(*) from marts.fct_llm_calls").fetchone()[0] > 0
    report = last_report(settings)
    assert report["status"] == "failed" and report["failed_step"] == "dbt build"
    from aioa.doctor import run_checks

    pipeline_check = next(check for check in run_checks(settings)[0] if check.name == "pipeline")
    assert pipeline_check.status == "error" and "dbt build" in pipeline_check.detail


def test_a_missing_source_fails_its_step_with_the_reason(built_home, tmp_path):
    settings = copy_home(built_home, tmp_path)
    version_before = publish_snapshot(settings)  # this copy's first snapshot
    # a process that ignores SIGINT (a background job of a script) must still stop on SIGTERM after a run: Dagster
    # copies SIGINT's handler to SIGTERM while it runs
    interrupt, terminate = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(PipelineError) as failure:
            run_pipeline(settings, SourcePaths(otel=[tmp_path / "no-such-folder"]), include_ml=False)
        assert signal.getsignal(signal.SIGTERM) == terminate != signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, interrupt)
    assert failure.value.step == "ingest otel"
    assert "no-such-folder" in failure.value.message
    assert current_snapshot(settings)[0] == version_before
