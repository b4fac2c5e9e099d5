"""The price list of every model the facts mention, stored beside them so marts can show and check prices."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from aioa.pricing.catalog import COMPONENTS, PriceCatalog

_SEEN_MODELS = """
with facts as (select distinct provider, model from raw.llm_calls),
handoff_models as (
    select target_model as model from raw.handoffs
    union
    select orchestrator_model from raw.handoffs where orchestrator_model is not null
)
select provider, model from facts
union all
select null, model from handoff_models where model not in (select model from facts)
"""


def refresh_model_prices(connection: duckdb.DuckDBPyConnection, catalog: PriceCatalog) -> int:
    """Replace `raw.model_prices` with today's list price of each model seen (time-dependent prices: base rate)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for provider, model in connection.execute(_SEEN_MODELS).fetchall():
        price = catalog.resolve(provider, model, now)
        row = {"provider": provider, "model": model, "priced": price is not None}
        if price is not None:
            row |= {"matched_model": price.matched_model, "price_source": price.source,
                    "price_version": price.version, "time_dependent": price.time_dependent,
                    "has_tiers": any(price.components[name].tiers for name in COMPONENTS)}
            row |= {f"{name}_mtok": float(price.components[name].base) for name in COMPONENTS}
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=_SCHEMA)
    connection.register("model_price_rows", table)
    try:
        connection.execute("delete from raw.model_prices")
        connection.execute("insert into raw.model_prices by name select * from model_price_rows")
    finally:
        connection.unregister("model_price_rows")
    return len(rows)


_SCHEMA = pa.schema([
    ("provider", pa.string()), ("model", pa.string()), ("matched_model", pa.string()),
    *[(f"{name}_mtok", pa.float64()) for name in COMPONENTS],
    ("has_tiers", pa.bool_()), ("time_dependent", pa.bool_()),
    ("price_source", pa.string()), ("price_version", pa.string()), ("priced", pa.bool_()),
])
