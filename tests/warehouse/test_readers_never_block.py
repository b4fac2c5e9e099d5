"""Reads never block: four reader processes query continuously while the pipeline rebuilds in another process;
they see zero errors and only complete snapshots (marts consistent with raw in every snapshot they open)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from aioa.pipeline import SourcePaths, run_pipeline
from aioa.settings import Settings
from aioa.warehouse.snapshots import publish_snapshot
from tests.ingest.transcripts import assistant, write_jsonl
from tests.warehouse.conftest import copy_home

CONSISTENT = """
select (select count(*) from raw.llm_calls) = (select count(*) from marts.fct_llm_calls)
   and (select count(*) from marts.fct_llm_calls) = (select sum(calls) from marts.agg_usage_daily)
   and (select sum(calls) from marts.agg_usage_daily) = (select sum(calls) from marts.agg_usage_hourly)
"""


def _reader(home: str, stop, results) -> None:
    from aioa.warehouse.snapshots import open_snapshot

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


def _writer(home: str, sample: str, extra: str) -> None:
    settings = Settings(home=Path(home))
    sources = SourcePaths.from_sample(Path(sample))
    sources.claude_code.append(Path(extra))
    run_pipeline(settings, sources, include_ml=False)  # new data: incremental rebuild
    run_pipeline(settings, sources, full_refresh=True, include_ml=False)  # every mart dropped and rebuilt


def test_four_readers_see_no_errors_and_only_complete_snapshots(built_home, sample_dir, tmp_path):
    settings = copy_home(built_home, tmp_path)
    publish_snapshot(settings)  # this copy's first snapshot
    extra = tmp_path / "extra" / ".claude"
    write_jsonl(
        extra / "projects" / "p" / "more.jsonl",
        [
            assistant(
                f"msg_more_{index}", f"req_more_{index}", output=100 + index, ts=f"2026-11-2{index % 3}T10:00:00.000Z"
            )
            for index in range(50)
        ],
    )

    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    readers = [context.Process(target=_reader, args=(str(settings.home), stop, results)) for _ in range(4)]
    for reader in readers:
        reader.start()
    time.sleep(3)  # readers are up and querying before the writer starts
    writer = context.Process(target=_writer, args=(str(settings.home), str(sample_dir), str(extra)))
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

    assert writer.exitcode == 0
    assert errors == []
    assert all(summary[2] == 0 and summary[3] == 0 for summary in summaries), summaries
    assert all(summary[1] > 20 for summary in summaries), summaries  # they really queried throughout
    assert (
        max(summary[4] for summary in summaries) >= 3
    )  # first, incremental, full refresh  # and saw the new snapshots appear
