"""Hostile routing-outcome CSVs: a header is a model name whatever it holds, never SQL.

Each case is ingested on top of a warehouse already holding two orgs' calls and a good evaluation file; the earlier
rows and totals must be untouched, no file may appear outside the input folders, and the hostile file is either
loaded with its header stored verbatim as a model name or quarantined with the reason.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import duckdb
import pytest

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.routing_outcomes import RoutingOutcomesSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from tests.ingest.transcripts import assistant, write_jsonl

ATTRIBUTION = """
default_org: unmapped
orgs: [{id: acme}, {id: globex}]
users:
  - {id: alice, org: acme, match: {homes: [/home/alice]}}
  - {id: bob, org: globex, match: {homes: [/home/bob]}}
"""

# The text an attacker would put in a header cell; `{outside}` becomes a path outside AIOA_HOME.
INJECTIONS = {
    "single quote": "o'reilly",
    "double quote": 'the "strong" one',
    "semicolon": "gpt;4",
    "comment": "model -- rest of line",
    "copy to a file": "'); copy (select 1) to '{outside}'; --",
    "copy after a closed identifier": "x\") from t; copy (select 42) to '{outside}'; select (\"",
    "delete raw calls": "' as m; delete from raw.llm_calls; --",
    "delete one org": "\"; delete from raw.llm_calls where org_id = 'acme'; --",
    "drop table": "'; drop table raw.handoffs; --",
    "unicode": "模型-ü-😀-\u202e",
}

BAD_HEADERS = {  # header row -> quarantine reason
    "empty name": (["prompt", "", "strong"], "empty column name in header (column 2)"),
    "blank name": (["prompt", "weak", "   "], "empty column name in header (column 3)"),
    "duplicate name": (["prompt", "weak", "weak"], "duplicate column name in header: weak"),
    "duplicate prompt": (["prompt", "weak", "prompt"], "duplicate column name in header: prompt"),
    "no prompt": (["question", "weak", "strong"], "no prompt column in header"),
    "no model": (["prompt"], "no model column in header"),
}


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def totals(settings: Settings) -> dict:
    """Everything the hostile file must not change: per-org call totals, the earlier handoffs, the table list."""
    return {
        "calls": query(
            settings,
            "select org_id, count(*), sum(output_tokens), sum(cost_usd) from raw.llm_calls "
            "group by org_id order by org_id",
        ),
        "handoffs": query(
            settings,
            "select handoff_id, target_model, success, alternatives from raw.handoffs "
            "where source_file like '%/baseline/%' order by handoff_id",
        ),
        "tables": query(settings, "select schema_name, table_name from duckdb_tables() order by all"),
    }


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def loaded(settings: Settings, tmp_path: Path) -> dict:
    """Two orgs' calls and one good evaluation file, ingested; returns their totals and the input folder."""
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "attribution.yaml").write_text(ATTRIBUTION)
    transcripts = tmp_path / "transcripts"
    write_jsonl(
        transcripts / "alice.jsonl",
        [
            assistant("msg_a1", "req_a1", output=100, cwd="/home/alice/src/shop"),
            assistant("msg_a2", "req_a2", output=200, cwd="/home/alice/src/shop", ts="2026-03-02T11:00:00.000Z"),
        ],
    )
    write_jsonl(
        transcripts / "bob.jsonl",
        [
            assistant("msg_b1", "req_b1", output=300, cwd="/home/bob/src/data", session="s2"),
        ],
    )
    ingest(ClaudeCodeSource(), [transcripts], settings, publish=False)
    write_csv(
        tmp_path / "evals" / "baseline" / "mmlu_tiny.csv",
        ["prompt", "weak", "strong"],
        [["What is 2+2?", "True", "True"], ["Name a prime", "False", "True"]],
    )
    ingest(RoutingOutcomesSource(), [tmp_path / "evals" / "baseline"], settings, publish=False)
    before = totals(settings)
    assert [row[:3] for row in before["calls"]] == [("acme", 2, 300), ("globex", 1, 300)]
    assert len(before["handoffs"]) == 2
    return {"totals": before, "inputs": tmp_path / "evals"}


@pytest.mark.parametrize("injection", list(INJECTIONS.values()), ids=list(INJECTIONS))
def test_a_hostile_header_is_only_a_model_name(settings, tmp_path, loaded, injection):
    outside = tmp_path / f"pwned-{uuid.uuid4().hex}.csv"
    weak = injection.format(outside=outside)
    strong = weak + " (strong)"
    files_before = files_under(tmp_path)
    path = write_csv(
        loaded["inputs"] / "hostile" / "evals.csv",
        ["prompt", weak, strong],
        [["'); delete from raw.llm_calls; --", "True", "False"], ["plain question", "false", "TRUE"]],
    )

    summary = ingest(RoutingOutcomesSource(), [path.parent], settings, publish=False)

    assert (summary.rows_added["handoffs"], summary.quarantined) == (2, 0)
    rows = query(
        settings,
        "select task_text, target_model, success, alternatives from raw.handoffs "
        "where source_file = ? order by task_text",
        [str(path)],
    )
    assert [(text, model, success) for text, model, success, _ in rows] == [
        ("'); delete from raw.llm_calls; --", weak, True),
        ("plain question", weak, False),
    ]
    assert [json.loads(alternatives) for *_, alternatives in rows] == [
        [{"model": strong, "success": False, "quality_score": 0.0}],
        [{"model": strong, "success": True, "quality_score": 1.0}],
    ]
    assert totals(settings) == loaded["totals"]
    assert not outside.exists()
    new_files = files_under(tmp_path) - files_before - {path}
    assert all(settings.home in new.parents for new in new_files), new_files


def test_the_sql_injection_examples_write_no_file_anywhere(settings, tmp_path, loaded):
    """The literal payloads of the issue, with a target in /tmp (outside the test's folder too)."""
    target = Path("/tmp") / f"aioa-hostile-{uuid.uuid4().hex}.csv"
    headers = ["prompt", f"'); copy (select 1) to '{target}'; --", f"\"; copy (select 1) to '{target}'; --"]
    path = write_csv(loaded["inputs"] / "literal" / "evals.csv", headers, [["q", "True", "True"]])

    summary = ingest(RoutingOutcomesSource(), [path.parent], settings, publish=False)

    assert summary.rows_added["handoffs"] == 1
    assert not target.exists()
    assert totals(settings) == loaded["totals"]


@pytest.mark.parametrize(("header", "reason"), list(BAD_HEADERS.values()), ids=list(BAD_HEADERS))
def test_an_unusable_header_quarantines_the_file(settings, loaded, header, reason):
    rows = [["q1", "True", "False"][: len(header)], ["q2", "False", "True"][: len(header)]]
    path = write_csv(loaded["inputs"] / "bad" / "evals.csv", header, rows)

    summary = ingest(RoutingOutcomesSource(), [path.parent], settings, publish=False)

    assert (summary.rows_added.get("handoffs", 0), summary.quarantined) == (0, 1)
    assert query(
        settings, "select source_line, severity, reason from raw.quarantine where source_file = ?", [str(path)]
    ) == [(1, "rejected", reason)]
    assert totals(settings) == loaded["totals"]


def test_a_bad_file_does_not_stop_the_good_one_beside_it(settings, loaded):
    folder = loaded["inputs"] / "mixed"
    write_csv(folder / "a_duplicate.csv", ["prompt", "m", "m"], [["q", "True", "True"]])
    good = write_csv(folder / "b_good.csv", ["prompt", "m", "n"], [["q", "True", "False"]])
    (folder / "c_empty.csv").write_text("")

    summary = ingest(RoutingOutcomesSource(), [folder], settings, publish=False)

    assert (summary.rows_added["handoffs"], summary.quarantined) == (1, 2)
    assert summary.quarantine_reasons == {"duplicate column name in header": 1, "empty file": 1}
    assert query(settings, "select source_file from raw.handoffs where source_file like '%/mixed/%'") == [(str(good),)]
    assert totals(settings) == loaded["totals"]


def test_a_file_that_is_not_utf8_is_quarantined(settings, loaded):
    path = loaded["inputs"] / "latin1" / "evals.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("prompt,modèle,strong\nq,True,False\n".encode("latin-1"))

    summary = ingest(RoutingOutcomesSource(), [path.parent], settings, publish=False)

    assert (summary.rows_added.get("handoffs", 0), summary.quarantined) == (0, 1)
    [(reason,)] = query(settings, "select reason from raw.quarantine where source_file = ?", [str(path)])
    assert reason.startswith("unreadable CSV: ")
    assert totals(settings) == loaded["totals"]


def test_file_names_with_quotes_and_glob_characters_read_only_themselves(settings, loaded):
    folder = loaded["inputs"] / "odd names"
    odd = write_csv(folder / "it's [a] *.csv", ["prompt", "m", "n"], [["odd", "True", "False"]])
    write_csv(folder / "it's a b.csv", ["prompt", "m", "n"], [["other", "False", "True"]])

    summary = ingest(RoutingOutcomesSource(), [folder], settings, publish=False)

    assert summary.rows_added["handoffs"] == 2
    assert query(settings, "select task_text, task_type from raw.handoffs where source_file = ?", [str(odd)]) == [
        ("odd", "it's [a] *")
    ]
    assert totals(settings) == loaded["totals"]


def test_a_hostile_cheap_model_option_is_a_value(settings, loaded):
    cheap = "n'; delete from raw.llm_calls; --"
    path = write_csv(loaded["inputs"] / "option" / "evals.csv", ["prompt", "m", cheap], [["q", "True", "False"]])

    summary = ingest(RoutingOutcomesSource(cheap_model=cheap), [path.parent], settings, publish=False)

    assert summary.rows_added["handoffs"] == 1
    assert query(settings, "select target_model, success from raw.handoffs where source_file = ?", [str(path)]) == [
        (cheap, False)
    ]
    assert totals(settings) == loaded["totals"]
