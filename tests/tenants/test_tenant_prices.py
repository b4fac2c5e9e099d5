"""An org's own price list (tenant settings `price_overrides`) costs that org's calls and nobody else's: applied by
the ingest through the pricing module (stored rows are costed again when the list changes or goes)."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from aioa.ingest.registry import BY_NAME
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from aioa.tenants.settings_doc import update_tenant_settings

PRICES = {"input": Decimal("7"), "output": Decimal("11"), "cache_read": Decimal("0.5"), "cache_write": Decimal("9")}
ROWS = """
    select call_key, org_id, model, cost_usd, price_status, price_source, input_tokens, output_tokens,
           cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens
    from raw.llm_calls order by call_key
"""


def calls(settings: Settings) -> dict[str, tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return {row[0]: row[1:] for row in connection.execute(ROWS).fetchall()}


def run_ingest(settings: Settings) -> None:
    """An ingest with nothing new to read: what `aioa run` does first on every run (reprice, then read)."""
    ingest(BY_NAME["claude_code"].source(), [], settings, publish=False)


def expected_cost(row: tuple) -> Decimal:
    *_, input_tokens, output_tokens, cache_read, write_5m, write_1h = row
    per_million = (
        input_tokens * PRICES["input"]
        + output_tokens * PRICES["output"]
        + cache_read * PRICES["cache_read"]
        + (write_5m + write_1h) * PRICES["cache_write"]
    )
    return per_million / Decimal(1_000_000)


@pytest.fixture
def shared_model(billing_home: Settings) -> str:
    """A priced model that acme and another org both call."""
    rows = calls(billing_home).values()
    per_model: dict[str, set[str]] = {}
    for org, model, _cost, status, *_ in rows:
        if status == "priced":
            per_model.setdefault(model, set()).add(org)
    return next(model for model, orgs in sorted(per_model.items()) if "acme" in orgs and len(orgs) > 1)


def test_an_org_price_list_changes_its_costs_and_no_other_orgs(billing_home: Settings, shared_model: str):
    before = calls(billing_home)
    entry = {
        "model": shared_model,
        "input_mtok": str(PRICES["input"]),
        "output_mtok": str(PRICES["output"]),
        "cache_read_mtok": str(PRICES["cache_read"]),
        "cache_write_mtok": str(PRICES["cache_write"]),
    }
    update_tenant_settings(billing_home, "acme", {"price_overrides": [entry]}, actor="operator")
    run_ingest(billing_home)
    after = calls(billing_home)

    assert after.keys() == before.keys()
    overridden = {key for key, row in before.items() if row[0] == "acme" and row[1] == shared_model}
    assert overridden
    for key in overridden:
        org, model, cost, status, source, *_ = after[key]
        assert status == "override" and source.startswith("override:tenant:acme ("), source
        assert cost == pytest.approx(expected_cost(after[key]), abs=Decimal("1e-9"))
        assert cost != before[key][2]
    # every other row, other orgs' calls of the same model included, keeps its cost and source
    others = [key for key in before if key not in overridden]
    assert any(before[key][1] == shared_model for key in others)
    assert [after[key][:5] for key in others] == [before[key][:5] for key in others]

    # the list removed: acme's calls go back to the shared price
    update_tenant_settings(billing_home, "acme", {"price_overrides": None}, actor="operator")
    run_ingest(billing_home)
    restored = calls(billing_home)
    assert {key: restored[key][:5] for key in before} == {key: before[key][:5] for key in before}
