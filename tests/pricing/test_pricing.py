"""Pricing: SQL costs equal genai-prices' own calculation; overrides; unknown models are flagged, never zero."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest
from genai_prices import Usage, calc_price
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.pricing import PriceCatalog, apply_prices
from aioa.pricing.model_prices import refresh_model_prices
from aioa.warehouse.schema import BOOKKEEPING_DDL
from tests.ingest.transcripts import assistant, write_jsonl

STAGE = """
create or replace table calls (
    provider varchar, model varchar, ts_utc timestamp, input_tokens bigint, output_tokens bigint,
    cache_write_5m_tokens bigint, cache_write_1h_tokens bigint, cache_read_tokens bigint,
    cost_usd decimal(20, 10), price_status varchar, price_source varchar, price_version varchar)
"""


def sql_cost(catalog: PriceCatalog, provider: str, model: str, ts: datetime, tokens: tuple[int, ...]):
    connection = duckdb.connect()
    connection.execute(STAGE)
    connection.execute(
        "insert into calls values (?, ?, ?, ?, ?, ?, ?, ?, null, 'pending', null, null)", [provider, model, ts, *tokens]
    )
    apply_prices(connection, "calls", catalog)
    return connection.execute("select cost_usd, price_status, price_source from calls").fetchone()


def library_cost(provider: str, model: str, ts: datetime, tokens: tuple[int, ...]) -> Decimal:
    uncached, output, write_5m, write_1h, read = tokens
    usage = Usage(
        input_tokens=uncached + write_5m + write_1h + read,
        output_tokens=output,
        cache_write_tokens=write_5m + write_1h,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        cache_read_tokens=read,
    )
    return calc_price(usage, model, provider_id=provider, genai_request_timestamp=ts).total_price


token_counts = st.tuples(*[st.integers(0, 400_000)] * 5)
MODELS = [
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-haiku-4-5-20251001"),
    ("deepseek", "deepseek-chat"),
    ("openai", "gpt-4o"),
]


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    tokens=token_counts,
    model=st.sampled_from(MODELS),
    ts=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 11, 1)),
)
def test_sql_cost_equals_the_library_for_any_usage(tokens, model, ts):
    provider, name = model
    if provider != "anthropic":
        tokens = (*tokens[:2], 0, 0, tokens[4])  # these providers have no cache-write price
    cost, status, _ = sql_cost(PriceCatalog(), provider, name, ts, tokens)
    assert status == "priced"
    assert cost == library_cost(provider, name, ts, tokens).quantize(Decimal("1e-10"))


def test_long_context_tier_applies_to_every_token_above_the_threshold():
    catalog = PriceCatalog()
    short = sql_cost(
        catalog, "anthropic", "claude-sonnet-4-5-20250929", datetime(2026, 5, 1), (100_000, 1_000, 0, 0, 0)
    )[0]
    long = sql_cost(
        catalog, "anthropic", "claude-sonnet-4-5-20250929", datetime(2026, 5, 1), (150_000, 1_000, 0, 0, 60_000)
    )[0]
    assert short == Decimal("0.3") + Decimal("0.015")  # $3 in, $15 out per MTok
    assert long == Decimal("0.9") + Decimal("0.0225") + Decimal("0.036")  # $6 in, $22.50 out, $0.60 read


def test_five_minute_and_one_hour_cache_writes_have_their_own_rates():
    catalog = PriceCatalog()
    five = sql_cost(catalog, "anthropic", "claude-opus-4-6", datetime(2026, 5, 1), (0, 0, 1_000_000, 0, 0))[0]
    hour = sql_cost(catalog, "anthropic", "claude-opus-4-6", datetime(2026, 5, 1), (0, 0, 0, 1_000_000, 0))[0]
    assert (five, hour) == (Decimal("6.25"), Decimal("10"))


def test_deepseek_off_peak_price_depends_on_time_of_day():
    catalog = PriceCatalog()
    tokens = (1_000_000, 0, 0, 0, 0)
    peak = sql_cost(catalog, "deepseek", "deepseek-chat", datetime(2026, 5, 1, 12, 0), tokens)[0]
    off_peak = sql_cost(catalog, "deepseek", "deepseek-chat", datetime(2026, 5, 1, 20, 0), tokens)[0]
    assert peak == library_cost("deepseek", "deepseek-chat", datetime(2026, 5, 1, 12, 0), tokens)
    assert off_peak == library_cost("deepseek", "deepseek-chat", datetime(2026, 5, 1, 20, 0), tokens)
    assert peak != off_peak


def test_the_list_price_is_the_standard_rate_whatever_the_hour_the_pipeline_runs():
    """A pipeline that ran in DeepSeek's off-peak hours stored the discounted rate as the model's list price, so
    dim_models changed with the hour of the build; calls keep their own time's price (test above)."""
    catalog = PriceCatalog()
    day = datetime(2026, 5, 1).date()
    standard = catalog.resolve("deepseek", "deepseek-chat", datetime(2026, 5, 1, 12, 0)).components["input"].base
    off_peak = catalog.resolve("deepseek", "deepseek-chat", datetime(2026, 5, 1, 20, 0)).components["input"].base
    assert off_peak < standard
    assert catalog.list_price("deepseek", "deepseek-chat", day).components["input"].base == standard
    assert catalog.list_price("anthropic", "claude-sonnet-4-5", day) == catalog.resolve(
        "anthropic", "claude-sonnet-4-5", datetime(2026, 5, 1, 20, 0)
    )  # a model without a daily window: the same price at any hour
    connection = duckdb.connect()
    connection.execute("create schema raw")
    connection.execute("create table raw.llm_calls (provider varchar, model varchar)")
    connection.execute("insert into raw.llm_calls values ('deepseek', 'deepseek-chat')")
    connection.execute("create table raw.handoffs (target_model varchar, orchestrator_model varchar)")
    connection.execute(BOOKKEEPING_DDL)  # raw.model_prices among the bookkeeping tables
    refresh_model_prices(connection, catalog)
    stored = connection.execute("select input_mtok from raw.model_prices").fetchone()[0]
    today = catalog.list_price("deepseek", "deepseek-chat", datetime.now(UTC).date())
    assert stored == float(today.components["input"].base)


def test_unknown_model_is_unpriced_never_zero():
    cost, status, source = sql_cost(
        PriceCatalog(), "acme", "acme-internal-llm-2", datetime(2026, 5, 1), (10, 10, 0, 0, 0)
    )
    assert (cost, status) == (None, "unpriced")
    assert "no price" in source


def test_override_file_prices_a_self_hosted_model_and_wins_over_the_library(tmp_path):
    overrides = tmp_path / "price-overrides.yaml"
    overrides.write_text(
        "prices:\n"
        "  - model: deepseek-chat\n    provider: deepseek\n    input_mtok: 0\n    output_mtok: 0\n"
        "    note: local DeepSeek on our own GPUs\n"
        "  - model: acme-internal-*\n    input_mtok: 0.5\n    output_mtok: 1.5\n    cache_read_mtok: 0.05\n"
    )
    catalog = PriceCatalog(overrides)
    local = sql_cost(catalog, "deepseek", "deepseek-chat", datetime(2026, 5, 1), (10**6, 10**6, 0, 0, 0))
    internal = sql_cost(catalog, "acme", "acme-internal-llm-2", datetime(2026, 5, 1), (10**6, 10**6, 0, 0, 10**6))
    assert local[:2] == (Decimal("0"), "override")
    assert internal[:2] == (Decimal("2.05"), "override")
    assert internal[2].startswith("override:price-overrides.yaml")


def test_dated_override_applies_from_its_date(tmp_path):
    overrides = tmp_path / "price-overrides.yaml"
    overrides.write_text(
        "prices:\n  - model: claude-opus-4-6\n    input_mtok: 4\n    output_mtok: 20\n    valid_from: 2026-06-01\n"
    )
    catalog = PriceCatalog(overrides)
    before = sql_cost(catalog, "anthropic", "claude-opus-4-6", datetime(2026, 5, 31, 23), (10**6, 0, 0, 0, 0))
    after = sql_cost(catalog, "anthropic", "claude-opus-4-6", datetime(2026, 6, 1, 1), (10**6, 0, 0, 0, 0))
    assert (before[0], before[1]) == (Decimal("5"), "priced")
    assert (after[0], after[1]) == (Decimal("4"), "override")


def test_unpriced_calls_are_flagged_then_repriced_once_an_override_exists(settings, tmp_path):
    root = tmp_path / ".claude"
    write_jsonl(
        root / "projects" / "p" / "s1.jsonl",
        [
            assistant("msg_1", "req_1", output=1_000_000, input_tokens=0, model="acme-internal-llm-2"),
            assistant("msg_2", "req_2", output=10, model="claude-opus-4-6"),
        ],
    )
    summary = ingest(ClaudeCodeSource(), [root], settings)
    assert summary.unpriced == 1
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        assert connection.execute(
            "select cost_usd, price_status from raw.llm_calls where model like 'acme%'"
        ).fetchall() == [(None, "unpriced")]
        assert connection.execute("select severity, reason from raw.quarantine").fetchall() == [
            (
                "flagged",
                "unknown model: no price for acme-internal-llm-2 (provider anthropic); cost left empty, "
                "add it to the price override file",
            )
        ]
    (settings.home / "price-overrides.yaml").write_text(
        "prices:\n  - model: acme-internal-llm-2\n    input_mtok: 1\n    output_mtok: 2\n"
    )
    ingest(ClaudeCodeSource(), [root], settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        assert connection.execute(
            "select cost_usd, price_status from raw.llm_calls where model like 'acme%'"
        ).fetchall() == [(Decimal("2"), "override")]
        assert connection.execute("select count(*) from raw.quarantine").fetchone() == (0,)


@pytest.mark.parametrize("provider", ["anthropic", None])
def test_provider_hint_is_optional(provider):
    cost, status, _ = sql_cost(PriceCatalog(), provider, "claude-opus-4-6", datetime(2026, 5, 1), (10**6, 0, 0, 0, 0))
    assert (cost, status) == (Decimal("5"), "priced")


def test_one_batch_with_tiered_untiered_and_time_of_day_models_prices_each_row_like_the_library():
    # One UPDATE prices every model of a batch: models without tiers must not pick up another model's tiers.
    connection = duckdb.connect()
    connection.execute(STAGE)
    rows = [
        (provider, name, datetime(2026, 5, 1, hour, 0), tokens)
        for provider, name in MODELS
        for hour in (12, 20)
        for tokens in ((150_000, 1_000, 0, 0, 60_000), (1_000, 200, 0, 0, 3_000))
    ]
    connection.executemany(
        "insert into calls values (?, ?, ?, ?, ?, ?, ?, ?, null, 'pending', null, null)",
        [[provider, name, ts, *tokens] for provider, name, ts, tokens in rows],
    )
    assert apply_prices(connection, "calls", PriceCatalog()) == 0
    costs = connection.execute("select cost_usd from calls order by rowid").fetchall()
    expected = [
        library_cost(provider, name, ts, tokens).quantize(Decimal("1e-10")) for provider, name, ts, tokens in rows
    ]
    assert [cost for (cost,) in costs] == expected
    assert len(set(expected)) > len(MODELS)  # tiers and time of day really change some prices
