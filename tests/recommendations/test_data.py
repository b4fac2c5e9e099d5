"""The recommendations read the caller's rows only, over their windows: sums equal the marts queried here, and
`aioa recommendations --json` answers with a list of recommendations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from aioa.recommendations.data import SHORT_OUTPUT_TOKENS, read_inputs
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.snapshots import open_snapshot


@pytest.fixture(scope="module")
def acme(built_home):
    connection, _ = open_snapshot(Settings(home=built_home))
    with connection:
        inputs = read_inputs(connection, TenantScope.for_orgs("acme"))
        start = inputs.last_day - timedelta(days=inputs.window_days - 1)
        expected = connection.execute(
            "select sum(cache_read_tokens), sum(input_tokens) from marts.agg_usage_daily "
            "where org_id = 'acme' and project_id is not null and day between ? and ?",
            [start, inputs.last_day],
        ).fetchone()
        short = connection.execute(
            "select count(*) from marts.fct_llm_calls where org_id = 'acme' and day between ? and ? "
            "and output_tokens <= ? and cost_usd is not null",
            [start, inputs.last_day, SHORT_OUTPUT_TOKENS],
        ).fetchone()[0]
    return inputs, expected, short


def test_inputs_are_the_orgs_rows_over_the_window(acme):
    inputs, (cache_read, input_tokens), short = acme
    for frame in (inputs.cache, inputs.short_calls, inputs.handoffs, inputs.prices, inputs.spend):
        assert set(frame["org_id"]) == {"acme"}
    assert inputs.cache["cache_read_tokens"].sum() == pytest.approx(float(cache_read))
    assert inputs.cache["input_tokens"].sum() == pytest.approx(float(input_tokens))
    assert inputs.short_calls["calls"].sum() == short
    assert inputs.handoffs["propensity"].notna().any()  # the generator's router logs its propensities


def test_the_cli_prints_the_recommendations_as_json(built_home):
    done = subprocess.run(
        [sys.executable, "-m", "aioa.cli", "recommendations", "--json", "--org", "acme"],
        env=os.environ | {"AIOA_HOME": str(built_home)},
        capture_output=True,
        text=True,
        check=True,
    )
    items = json.loads(done.stdout)
    assert isinstance(items, list)
    for item in items:
        assert item["org_id"] == "acme" and item["monthly_saving_usd"] >= 1.0 and item["summary"]
