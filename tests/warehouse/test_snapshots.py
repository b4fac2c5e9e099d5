"""Reads never block: four reader processes query continuously while the writer ingests, with zero errors."""

from __future__ import annotations

import multiprocessing
import time

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot
from tests.ingest.transcripts import append_jsonl, assistant, write_jsonl

ROUNDS, CALLS_PER_ROUND = 8, 50


def reader(home: str, stop, ready, results) -> None:
    settings = Settings(home=home)
    seen, errors, announced = set(), [], False
    while not stop.is_set():
        if not announced and (seen or errors):
            ready.put(True)  # once, after the first read: the writer may start
            announced = True
        try:
            connection, version = open_snapshot(settings)
            with connection:
                seen.add(
                    (
                        version,
                        *connection.execute(
                            "select count(*), coalesce(sum(output_tokens), 0) from raw.llm_calls"
                        ).fetchone(),
                    )
                )
        except NoSnapshotError:
            continue
        except Exception as error:  # noqa: BLE001 - any error is the failure this test looks for
            errors.append(repr(error))
    results.put((sorted(seen), errors))


def round_records(round_index: int) -> list[dict]:
    first = round_index * CALLS_PER_ROUND
    return [assistant(f"m{i}", f"r{i}", output=1) for i in range(first, first + CALLS_PER_ROUND)]


def test_readers_see_only_complete_snapshots_while_the_writer_ingests(tmp_path):
    settings = Settings(home=tmp_path / "home")
    root = tmp_path / ".claude"
    path = write_jsonl(root / "projects" / "p" / "s.jsonl", round_records(0))
    ingest(ClaudeCodeSource(), [root], settings)
    context = multiprocessing.get_context("spawn")
    stop, ready, results = context.Event(), context.Queue(), context.Queue()
    readers = [context.Process(target=reader, args=(str(settings.home), stop, ready, results)) for _ in range(4)]
    for process in readers:
        process.start()
    for _ in readers:  # on a busy machine a spawned reader takes seconds to import: wait for each one's first read
        ready.get(timeout=180)
    for round_index in range(1, ROUNDS):
        append_jsonl(path, round_records(round_index))
        ingest(ClaudeCodeSource(), [root], settings)
    time.sleep(0.5)
    stop.set()
    outcomes = [results.get(timeout=60) for _ in readers]
    for process in readers:
        process.join(timeout=30)
    all_errors = [error for _, errors in outcomes for error in errors]
    assert all_errors == []
    observed = {(count, total) for seen, _ in outcomes for _, count, total in seen}
    complete_states = {(k * CALLS_PER_ROUND, k * CALLS_PER_ROUND) for k in range(1, ROUNDS + 1)}
    assert observed <= complete_states
    assert len(observed) >= 2  # the readers really ran during the writes
