"""RouteLLM routing outcomes: one handoff per prompt with both models' outcomes known."""

from __future__ import annotations

import csv
import json

import duckdb

from aioa.ingest.routing_outcomes import RoutingOutcomesSource
from aioa.ingest.runner import ingest
from tests.conftest import shared_data


def query(settings, sql):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_real_mmlu_outcomes_match_a_direct_count(settings):
    folder = shared_data("routellm-mmlu")
    distinct, weak_correct, strong_correct = {}, 0, 0
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                distinct[(path.stem, row["prompt"])] = row
    for row in distinct.values():
        weak_correct += row["mistralai/Mixtral-8x7B-Instruct-v0.1"] == "True"
        strong_correct += row["gpt-4-1106-preview"] == "True"
    summary = ingest(RoutingOutcomesSource(), [folder], settings)
    assert summary.rows_added["handoffs"] == len(distinct)
    assert summary.quarantined == 0
    weak, strong, total = query(
        settings,
        """
        select count(*) filter (where success),
               count(*) filter (where (alternatives -> '$[0].success')::boolean),
               count(*)
        from raw.handoffs""",
    )[0]
    assert (weak, strong, total) == (weak_correct, strong_correct, len(distinct))
    assert query(settings, "select distinct target_model from raw.handoffs") == [
        ("mistralai/Mixtral-8x7B-Instruct-v0.1",)
    ]
    assert ingest(RoutingOutcomesSource(), [folder], settings).files_read == 0


def test_multiline_prompts_and_bad_values(settings, tmp_path):
    path = tmp_path / "evals" / "tiny.csv"
    path.parent.mkdir()
    path.write_text(
        'prompt,cheap-model,strong-model\n"What is\n2+2?",True,True\n"Name a prime",False,True\n'
        '"Broken row",maybe,True\n'
    )
    summary = ingest(RoutingOutcomesSource(), [path.parent], settings)
    assert (summary.rows_added["handoffs"], summary.quarantined) == (2, 1)
    rows = query(settings, "select task_text, success, alternatives, task_type from raw.handoffs order by 1")
    assert [(text, success) for text, success, _, _ in rows] == [("Name a prime", False), ("What is\n2+2?", True)]
    assert json.loads(rows[0][2]) == [{"model": "strong-model", "success": True, "quality_score": 1.0}]
    assert query(settings, "select reason from raw.quarantine") == [("not a boolean outcome: cheap-model=maybe",)]
