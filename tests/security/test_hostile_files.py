"""Hostile log files never stop a run: each is quarantined with its reason and the good files load in full.

Every case writes the same good content (two good files and the good lines of the hostile file) next to something
hostile, ingests the folder, and compares with ingesting the good content alone: same rows, same tokens per org.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import tracemalloc
from pathlib import Path

import duckdb
import pytest

from aioa.ingest import lines as lines_module
from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.handoffs import HandoffLogSource
from aioa.ingest.lines import LineLimits, json_depth, read_new_lines
from aioa.ingest.otel import OtelSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from tests.ingest.test_handoffs import v1
from tests.ingest.transcripts import assistant

DEEP = "[" * 100_000 + "]" * 100_000
BAD_BYTE = b"\xff"
START_NS = 1_777_630_000_000_000_000


def otel_span(index: int, output: int) -> dict:
    key = hashlib.md5(str(index).encode()).hexdigest()
    attributes = [
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": str(output)}},
    ]
    return {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": key,
                                "spanId": key[:16],
                                "name": "chat",
                                "startTimeUnixNano": str(START_NS),
                                "endTimeUnixNano": str(START_NS + 10**9),
                                "attributes": attributes,
                            }
                        ]
                    }
                ]
            }
        ]
    }


# reader -> (source, table, good line builder, (text in a good line, the same text with a bad byte))
READERS = {
    "claude_code": (
        ClaudeCodeSource,
        "llm_calls",
        lambda i: json.dumps(assistant(f"msg_{i}", f"req_{i}", output=100 * i, input_tokens=10)),
        (b'"gitBranch": "main"', b'"gitBranch": "ma\xffin"'),
    ),
    "handoff_log": (
        HandoffLogSource,
        "handoffs",
        lambda i: json.dumps(v1(f"h{i}", input_tokens=10, output_tokens=100 * i)),
        (b'"task_text": "rename x"', b'"task_text": "rename \xffx"'),
    ),
    "otel": (
        OtelSource,
        "llm_calls",
        lambda i: json.dumps(otel_span(i, 100 * i)),
        (b'"name": "chat"', b'"name": "ch\xffat"'),
    ),
}
GOOD_FILES = {"a-good.jsonl": (1, 2, 3), "z-good.jsonl": (4, 5, 6)}
HOSTILE_FILE_GOOD_LINES = (7, 8)  # good lines of the hostile file, before and after the hostile line
EXPECTED = (8, 80, 3600)  # rows, input tokens, output tokens of the good content


def good(reader: str, index: int) -> bytes:
    return READERS[reader][2](index).encode() + b"\n"


def write_good_files(reader: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, indexes in GOOD_FILES.items():
        (folder / name).write_bytes(b"".join(good(reader, i) for i in indexes))


def hostile_file(reader: str, hostile_line: bytes, *, position: str) -> bytes:
    before, after = (good(reader, i) for i in HOSTILE_FILE_GOOD_LINES)
    if position == "middle":
        return before + hostile_line + b"\n" + after
    if position == "last line with a newline":
        return before + after + hostile_line + b"\n"
    return before + after + hostile_line  # last line without a newline


def run(reader: str, folder: Path, home: Path, **settings):
    summary = ingest(READERS[reader][0](), [folder], Settings(home=home, **settings), publish=False)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        table = READERS[reader][1]
        totals = connection.execute(
            f"select org_id, count(*), sum(input_tokens), sum(output_tokens) from raw.{table} group by all order by all"
        ).fetchall()
        quarantine = connection.execute(
            "select source_file, source_line, severity, reason, raw_excerpt from raw.quarantine order by all"
        ).fetchall()
        status = connection.execute("select status from raw.ingest_runs order by started_at desc limit 1").fetchone()
    assert status == ("ok",)
    return summary, totals, quarantine


_ALONE: dict[str, list] = {}


def good_alone(reader: str, tmp_path_factory) -> list:
    """Totals of the good content ingested without anything hostile (once per reader)."""
    if reader not in _ALONE:
        base = tmp_path_factory.mktemp(f"alone-{reader}")
        write_good_files(reader, base / "logs")
        (base / "logs" / "m-hostile.jsonl").write_bytes(b"".join(good(reader, i) for i in HOSTILE_FILE_GOOD_LINES))
        _, totals, quarantine = run(reader, base / "logs", base / "home")
        assert quarantine == []
        assert [row[1:] for row in totals] == [EXPECTED]
        _ALONE[reader] = totals
    return _ALONE[reader]


def assert_good_content_loaded(reader, totals, tmp_path_factory) -> None:
    assert totals == good_alone(reader, tmp_path_factory)  # same rows and tokens, for each org


def reasons(quarantine) -> list[str]:
    return [row[3] for row in quarantine]


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (a FIFO opened for reading blocks until someone writes)."""

    def expire(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


POSITIONS = ("middle", "last line with a newline", "last line without a newline")


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("reader", READERS)
def test_deep_json_is_quarantined_and_the_rest_loads(reader, position, tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files(reader, folder)
    (folder / "m-hostile.jsonl").write_bytes(hostile_file(reader, DEEP.encode(), position=position))
    summary, totals, quarantine = run(reader, folder, tmp_path / "home")
    hostile_line = 2 if position == "middle" else 3
    assert [row[1:4] for row in quarantine] == [(hostile_line, "rejected", "JSON nested deeper than 1000 levels")]
    assert quarantine[0][0].endswith("m-hostile.jsonl")
    assert len(quarantine[0][4]) == 500
    assert summary.quarantined == 1
    assert_good_content_loaded(reader, totals, tmp_path_factory)
    # a second run finds nothing new: no second quarantine row, totals unchanged
    summary, again, quarantine_again = run(reader, folder, tmp_path / "home")
    assert (summary.files_read, again, quarantine_again) == (0, totals, quarantine)


def test_deep_object_nesting_is_measured_outside_strings(tmp_path):
    assert json_depth(b'{"a": [1, {"b": "[[[{{{"}], "c": "\\"]]"}') == (3, 0)
    assert json_depth(b'["\\\\", [["x"]]]') == (3, 0)  # an escaped backslash does not escape the quote after it
    assert json_depth(('{"a":' * 5000 + "1" + "}" * 4999).encode()) == (5000, 1)
    deep_object = ('{"a":' * 2000 + "1" + "}" * 2000).encode()
    (tmp_path / "deep.jsonl").write_bytes(deep_object + b"\n")
    sliced = read_new_lines(tmp_path / "deep.jsonl", limits=LineLimits(max_json_depth=1000))
    assert sliced.lines.num_rows == 0
    assert [(p.line_no, p.reason) for p in sliced.problems] == [(1, "JSON nested deeper than 1000 levels")]


def test_deep_pretty_printed_otel_file_is_quarantined(tmp_path, tmp_path_factory):
    """A pretty-printed OTLP file is parsed as one record: its depth spans lines, so it is measured as a whole."""
    folder = tmp_path / "logs"
    write_good_files("otel", folder)
    (folder / "m-hostile.jsonl").write_bytes(b"".join(good("otel", i) for i in HOSTILE_FILE_GOOD_LINES))
    (folder / "pretty.json").write_text("{\n" + '"resourceSpans":\n' + "[\n" * 5000 + "]\n" * 5000 + "}\n")
    _, totals, quarantine = run("otel", folder, tmp_path / "home")
    assert [(Path(row[0]).name, row[1], row[3]) for row in quarantine] == [
        ("pretty.json", 1, "JSON nested deeper than 1000 levels")
    ]
    assert_good_content_loaded("otel", totals, tmp_path_factory)


@pytest.mark.parametrize("reader", READERS)
def test_line_longer_than_the_limit_is_skipped(reader, tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files(reader, folder)
    huge = b'{"pad": "' + b"A" * (5 * 1024 * 1024) + b'"}'
    (folder / "m-hostile.jsonl").write_bytes(hostile_file(reader, huge, position="middle"))
    summary, totals, quarantine = run(reader, folder, tmp_path / "home", max_line_bytes=1024 * 1024)
    assert [row[1:4] for row in quarantine] == [(2, "rejected", "line longer than 1048576 bytes")]
    assert quarantine[0][4] == '{"pad": "' + "A" * 491
    assert summary.lines_read == 9
    assert_good_content_loaded(reader, totals, tmp_path_factory)


def test_long_last_line_is_reread_only_when_the_file_grows(tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files("handoff_log", folder)
    hostile = folder / "m-hostile.jsonl"
    hostile.write_bytes(hostile_file("handoff_log", b"x" * (2 * 1024 * 1024), position="last line without a newline"))
    limit = {"max_line_bytes": 1024 * 1024}
    _, totals, quarantine = run("handoff_log", folder, tmp_path / "home", **limit)
    assert [row[1:4] for row in quarantine] == [(3, "rejected", "line longer than 1048576 bytes")]
    assert_good_content_loaded("handoff_log", totals, tmp_path_factory)
    summary, again, quarantine_again = run("handoff_log", folder, tmp_path / "home", **limit)
    assert (summary.files_read, again, quarantine_again) == (0, totals, quarantine)
    with hostile.open("ab") as handle:  # the writer finishes the line and goes on
        handle.write(b"\n" + good("handoff_log", 9))
    summary, grown, quarantine_grown = run("handoff_log", folder, tmp_path / "home", **limit)
    assert summary.lines_read == 2  # read on from the long line: the lines before it are not read again
    assert [row[1:4] for row in quarantine_grown] == [(3, "rejected", "line longer than 1048576 bytes")]
    assert [row[1:] for row in grown] == [(9, 90, 4500)]


def test_reading_a_long_line_holds_about_the_limit_not_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(lines_module, "READ_CHUNK_BYTES", 256 * 1024)
    path = tmp_path / "one-line.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"ok": 1}\n["')
        for _ in range(40):
            handle.write(b"B" * 1024 * 1024)
        handle.write(b'"]\n{"ok": 2}\n')
    tracemalloc.start()
    try:
        sliced = read_new_lines(path, limits=LineLimits(max_line_bytes=1024 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sliced.lines.column("line_no").to_pylist() == [1, 3]
    assert [(p.line_no, p.reason) for p in sliced.problems] == [(2, "line longer than 1048576 bytes")]
    assert (sliced.consumed_bytes, sliced.consumed_lines) == (path.stat().st_size, 3)
    assert sliced.prefix_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert peak < 6 * 1024 * 1024  # a 40 MB line read with a 1 MB limit in 256 KB chunks


@pytest.mark.parametrize("reader", READERS)
def test_invalid_utf8_is_quarantined_never_replaced(reader, tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files(reader, folder)
    text, with_bad_byte = READERS[reader][3]
    line = good(reader, 9).rstrip(b"\n")
    assert text in line
    line = line.replace(text, with_bad_byte)
    (folder / "m-hostile.jsonl").write_bytes(hostile_file(reader, line, position="middle"))
    _, totals, quarantine = run(reader, folder, tmp_path / "home")
    position = line.index(b"\xff") + 1
    assert [row[1:4] for row in quarantine] == [
        (2, "rejected", f"invalid UTF-8: bad byte at position {position} of the line")
    ]
    assert_good_content_loaded(reader, totals, tmp_path_factory)  # the line was not loaded with U+FFFD


@pytest.mark.parametrize("reader", READERS)
def test_symlink_out_of_the_root_is_not_followed(reader, tmp_path, tmp_path_factory):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_bytes(b'{"secret": "TOP-SECRET-CONTENT"}\n' + good(reader, 99))
    folder = tmp_path / "logs"
    write_good_files(reader, folder)
    (folder / "m-hostile.jsonl").write_bytes(b"".join(good(reader, i) for i in HOSTILE_FILE_GOOD_LINES))
    (folder / "leak.jsonl").symlink_to(outside / "secret.jsonl")
    (folder / "elsewhere").symlink_to(outside)  # a folder link out of the root: nothing under it is read
    summary, totals, quarantine = run(reader, folder, tmp_path / "home")
    assert sorted((Path(row[0]).name, row[1], row[3], row[4]) for row in quarantine) == [
        ("elsewhere", 1, "symlink points outside the ingest root: skipped", None),
        ("leak.jsonl", 1, "symlink points outside the ingest root: skipped", None),
    ]
    assert all(row[0].startswith(str(folder)) for row in quarantine)  # the link's own path, as in the manifest
    assert_good_content_loaded(reader, totals, tmp_path_factory)
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as connection:
        manifest = {row[0] for row in connection.execute("select path from raw.ingest_manifest").fetchall()}
    assert manifest == {str(folder / name) for name in (*GOOD_FILES, "m-hostile.jsonl", "leak.jsonl", "elsewhere")}
    summary, again, quarantine_again = run(reader, folder, tmp_path / "home")  # flagged once, not every run
    assert (summary.files_read, summary.quarantined, again, quarantine_again) == (0, 0, totals, quarantine)


def test_symlink_loops_are_skipped(tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files("claude_code", folder)
    (folder / "m-hostile.jsonl").write_bytes(b"".join(good("claude_code", i) for i in HOSTILE_FILE_GOOD_LINES))
    (folder / "loop-a.jsonl").symlink_to(folder / "loop-b.jsonl")
    (folder / "loop-b.jsonl").symlink_to(folder / "loop-a.jsonl")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to(folder)  # a folder that contains itself
    with deadline(60):
        _, totals, quarantine = run("claude_code", folder, tmp_path / "home")
    assert sorted((Path(row[0]).name, row[3]) for row in quarantine) == [
        ("loop-a.jsonl", "symlink is broken or loops: skipped"),
        ("loop-b.jsonl", "symlink is broken or loops: skipped"),
    ]
    assert_good_content_loaded("claude_code", totals, tmp_path_factory)


def test_symlinks_inside_the_root_count_each_file_once(tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files("handoff_log", folder)
    (folder / "m-hostile.jsonl").write_bytes(b"".join(good("handoff_log", i) for i in HOSTILE_FILE_GOOD_LINES))
    (folder / "alias.jsonl").symlink_to(folder / "a-good.jsonl")
    (folder / "sub").mkdir()
    (folder / "sub" / "again").symlink_to(folder)
    _, totals, quarantine = run("handoff_log", folder, tmp_path / "home")
    assert quarantine == []
    assert_good_content_loaded("handoff_log", totals, tmp_path_factory)
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as connection:
        manifest = sorted(row[0] for row in connection.execute("select path from raw.ingest_manifest").fetchall())
        sources = {row[0] for row in connection.execute("select distinct source_file from raw.handoffs").fetchall()}
    assert manifest == sorted(str(folder / name) for name in (*GOOD_FILES, "m-hostile.jsonl"))
    assert sources == set(manifest)


@pytest.mark.parametrize("reader", READERS)
def test_fifo_and_directory_named_like_logs_are_skipped(reader, tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files(reader, folder)
    os.mkfifo(folder / "pipe.jsonl")
    (folder / "m-hostile.jsonl").mkdir()  # a folder named like a log; the good lines are a real file inside it
    (folder / "m-hostile.jsonl" / "inner.jsonl").write_bytes(b"".join(good(reader, i) for i in HOSTILE_FILE_GOOD_LINES))
    with deadline(60):
        _, totals, quarantine = run(reader, folder, tmp_path / "home")
    assert sorted((Path(row[0]).name, row[1], row[3]) for row in quarantine) == [
        ("m-hostile.jsonl", 1, "not a regular file (directory): skipped"),
        ("pipe.jsonl", 1, "not a regular file (named pipe): skipped"),
    ]
    assert_good_content_loaded(reader, totals, tmp_path_factory)


def test_unreadable_file_is_quarantined_and_retried_when_it_changes(tmp_path, tmp_path_factory, monkeypatch):
    """chmod 000 does not stop root (tests run as root): opening honours the mode bits here as it would for a user."""
    real_open = os.open

    def open_as_a_user(path, flags, *args, **kwargs):
        if os.stat(path).st_mode & 0o444 == 0:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(lines_module.os, "open", open_as_a_user)
    folder = tmp_path / "logs"
    write_good_files("claude_code", folder)
    hostile = folder / "m-hostile.jsonl"
    hostile.write_bytes(b"".join(good("claude_code", i) for i in HOSTILE_FILE_GOOD_LINES))
    hostile.chmod(0)
    summary, totals, quarantine = run("claude_code", folder, tmp_path / "home")
    assert [(Path(row[0]).name, row[1], row[3]) for row in quarantine] == [
        ("m-hostile.jsonl", 1, f"file could not be read: PermissionError: [Errno 13] Permission denied: '{hostile}'")
    ]
    assert [row[1:] for row in totals] == [(6, 60, 2100)]
    summary, _, again = run("claude_code", folder, tmp_path / "home")
    assert (summary.files_read, summary.quarantined, again) == (0, 0, quarantine)  # not retried while unchanged
    hostile.chmod(0o644)
    os.utime(hostile, ns=(1, 1))  # the file changes: it is read again
    _, totals, quarantine = run("claude_code", folder, tmp_path / "home")
    assert quarantine == []
    assert_good_content_loaded("claude_code", totals, tmp_path_factory)


class FailingOnHostileFiles(HandoffLogSource):
    """Staging fails for any batch holding a file named *hostile* (as DuckDB does when it runs out of memory)."""

    def stage(self, connection) -> None:
        super().stage(connection)
        if connection.execute("select count(*) from batch_files where path like '%hostile%'").fetchall()[0][0]:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block (simulated)")


def test_a_file_that_fails_staging_does_not_take_its_batch_down(tmp_path, tmp_path_factory):
    folder = tmp_path / "logs"
    write_good_files("handoff_log", folder)
    (folder / "m-hostile.jsonl").write_bytes(b"".join(good("handoff_log", i) for i in HOSTILE_FILE_GOOD_LINES))
    home = tmp_path / "home"
    summary = ingest(FailingOnHostileFiles(), [folder], Settings(home=home), publish=False)
    assert (summary.files_read, summary.quarantined, summary.rows_added) == (2, 1, {"handoffs": 6})
    assert summary.quarantine_reasons == {"file could not be loaded": 1}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select source_line, reason from raw.quarantine").fetchall() == [
            (
                1,
                "file could not be loaded: OutOfMemoryException: "
                "Out of Memory Error: could not allocate block (simulated)",
            )
        ]
        assert connection.execute("select count(*), sum(output_tokens) from raw.handoffs").fetchone() == (6, 2100)
        assert connection.execute("select status from raw.ingest_runs").fetchall() == [("ok",)]
    summary = ingest(FailingOnHostileFiles(), [folder], Settings(home=home), publish=False)
    assert (summary.files_read, summary.quarantined) == (0, 0)  # recorded: not retried until it changes
    _, totals, _ = run("handoff_log", folder, home)  # the same file, unchanged, with a reader that works
    assert [row[1:] for row in totals] == [(6, 60, 2100)]
    os.utime(folder / "m-hostile.jsonl", ns=(1, 1))
    _, totals, quarantine = run("handoff_log", folder, home)
    assert quarantine == []
    assert_good_content_loaded("handoff_log", totals, tmp_path_factory)


def test_pipeline_run_succeeds_with_hostile_files_and_org_totals_are_unchanged(built_home, sample_dir, tmp_path):
    """`aioa run` over the sample plus hostile files in every source folder: it succeeds, quarantines each hostile
    file or line with its reason, and every org's marts equal those of the sample alone."""
    from aioa.pipeline import SourcePaths, run_pipeline
    from aioa.warehouse.snapshots import open_snapshot

    sample = tmp_path / "sample"
    shutil.copytree(sample_dir, sample, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "claims.jsonl").write_text(json.dumps(v1("stolen", org_id="acme", output_tokens=10**9)) + "\n")
    project = next((sample / "claude-code").glob("*/.claude/projects/*"))
    (project / "deep-last-line.jsonl").write_bytes(DEEP.encode())
    os.mkfifo(project / "pipe.jsonl")
    (sample / "handoffs" / "leak.jsonl").symlink_to(outside / "claims.jsonl")
    bad_utf8 = good("handoff_log", 91).replace(b'"rename x"', b'"rename \xffx"')
    (sample / "handoffs" / "bad-utf8.jsonl").write_bytes(bad_utf8)
    (sample / "otel" / "long-and-deep.jsonl").write_bytes(
        b'{"pad": "' + b"A" * (2 * 1024 * 1024) + b'"}\n' + DEEP.encode() + b"\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(sample / "attribution.yaml", home / "attribution.yaml")
    settings = Settings(home=home, max_line_bytes=1024 * 1024)
    assert run_pipeline(settings, SourcePaths.from_sample(sample), include_ml=False).status == "ok"

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        quarantined = connection.execute(
            "select source_system, regexp_extract(source_file, '[^/]+$'), source_line, reason from raw.quarantine "
            "where regexp_extract(source_file, '[^/]+$') in "
            "('deep-last-line.jsonl', 'pipe.jsonl', 'leak.jsonl', 'bad-utf8.jsonl', 'long-and-deep.jsonl') "
            "order by all"
        ).fetchall()
    assert quarantined == [
        ("claude_code", "deep-last-line.jsonl", 1, "JSON nested deeper than 1000 levels"),
        ("claude_code", "pipe.jsonl", 1, "not a regular file (named pipe): skipped"),
        (
            "handoff_log",
            "bad-utf8.jsonl",
            1,
            f"invalid UTF-8: bad byte at position {bad_utf8.index(BAD_BYTE) + 1} of the line",
        ),
        ("handoff_log", "leak.jsonl", 1, "symlink points outside the ingest root: skipped"),
        ("otel", "long-and-deep.jsonl", 1, "line longer than 1048576 bytes"),
        ("otel", "long-and-deep.jsonl", 2, "JSON nested deeper than 1000 levels"),
    ]

    def org_totals(home_dir: Path) -> dict:
        connection, _ = open_snapshot(Settings(home=home_dir))
        with connection:
            return {
                mart: connection.execute(
                    f"select org_id, count(*), sum(input_tokens), sum(output_tokens) from marts.{mart} "
                    "group by all order by all"
                ).fetchall()
                for mart in ("fct_llm_calls", "fct_handoffs")
            }

    hostile, alone = org_totals(home), org_totals(built_home)
    assert hostile == alone
    assert len(alone["fct_llm_calls"]) > 1
