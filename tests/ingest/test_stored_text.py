"""AIOA_STORE_TEXT: task text and quarantine excerpts stored in full, redacted (length and hash) or not at all;
tokens and costs the same in every mode; the router refuses to train on text that was not stored."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import duckdb
import pandas as pd
import pytest
from ml.routing.data import RoutingDataError, from_handoffs

from aioa.ingest.handoffs import HandoffLogSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from tests.ingest.test_handoffs import v1
from tests.ingest.transcripts import write_jsonl

TEXT = "rename the variable x to total in billing.py"
MODES = ("full", "redacted", "none")


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> dict[str, dict]:
    """The same handoff log (two good rows, one rejected line) ingested once under each mode."""
    log = tmp_path_factory.mktemp("logs") / "handoffs.jsonl"
    write_jsonl(log, [v1("h1", task_text=TEXT), v1("h2", task_text="write tests", cost_usd=0.25)])
    with log.open("a") as handle:
        handle.write('{"schema": "aioa.handoff/1", "task_text": "secret plan", broken\n')
    results = {}
    for mode in MODES:
        settings = Settings(home=tmp_path_factory.mktemp(f"home-{mode}"), store_text=mode)
        ingest(HandoffLogSource(), [log], settings, publish=False)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
            results[mode] = {
                "texts": dict(connection.execute("select handoff_id, task_text from raw.handoffs").fetchall()),
                "totals": connection.execute(
                    "select count(*), sum(input_tokens + output_tokens), sum(cost_usd) from raw.handoffs"
                ).fetchone(),
                "excerpts": [row[0] for row in connection.execute("select raw_excerpt from raw.quarantine").fetchall()],
            }
    return results


def test_full_keeps_the_text(stored):
    assert stored["full"]["texts"] == {"h1": TEXT, "h2": "write tests"}
    assert any("secret plan" in excerpt for excerpt in stored["full"]["excerpts"])


def test_redacted_keeps_length_and_hash_only(stored):
    digest = hashlib.sha256(TEXT.encode()).hexdigest()[:16]
    assert stored["redacted"]["texts"]["h1"] == f"[redacted: {len(TEXT)} chars, sha256 {digest}]"
    excerpts = stored["redacted"]["excerpts"]
    assert excerpts and all(excerpt.startswith("[redacted: ") for excerpt in excerpts)
    assert not any("secret plan" in excerpt for excerpt in excerpts)


def test_none_stores_null(stored):
    assert stored["none"]["texts"] == {"h1": None, "h2": None}
    assert stored["none"]["excerpts"] and all(excerpt is None for excerpt in stored["none"]["excerpts"])


def test_totals_are_the_same_in_every_mode(stored):
    assert stored["full"]["totals"] == (2, 2400, Decimal("0.2505000000"))
    assert all(stored[mode]["totals"] == stored["full"]["totals"] for mode in MODES)


@pytest.mark.parametrize("mode", ["none", "redacted"])
def test_router_refuses_text_that_was_not_stored(stored, mode):
    texts = stored[mode]["texts"]
    handoffs = pd.DataFrame(
        {
            "task_id": ["t1", "t2"],
            "task_text": [texts["h1"], texts["h2"]],
            "task_type": ["refactor", "tests"],
            "project_id": ["shop", "shop"],
            "target_model": ["deepseek-chat", "claude-opus-4-6"],
            "success": [True, False],
            "outcome_verified": [True, True],
            "input_tokens": [1000, 1000],
            "output_tokens": [200, 200],
            "cost_usd": [0.001, 0.25],
            "latency_ms": [1500, 1500],
            "alternatives_json": ["[]", "[]"],
        }
    )
    with pytest.raises(RoutingDataError, match="AIOA_STORE_TEXT"):
        from_handoffs(handoffs)
    from_handoffs(handoffs.assign(task_text=[TEXT, "write tests"]))  # the same rows with their text train
