"""The price list of every model the facts mention, stored beside them so marts can show and check prices."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

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
    """Replace `raw.model_prices` with today's list price of each model seen (its standard rate: no off-peak window,
    no volume tier)."""
    today = datetime.now(UTC).date()
    rows = []
    for provider, model in connection.execute(_SEEN_MODELS).fetchall():
        price = catalog.list_price(provider, model, today)
        row = {"provider": provider, "model": model, "priced": price is not None}
        if price is not None:
            row |= {
                "matched_model": price.matched_model,
                "price_source": price.source,
                "price_version": price.version,
                "time_dependent": price.time_dependent,
                "has_tiers": any(price.components[name].tiers for name in COMPONENTS),
            }
            row |= {f"{name}_mtok": float(price.components[name].base) for name in COMPONENTS}
        rows.append(row)
    # One statement, columns as list parameters zipped by unnest (pa.Table.from_pylist would import pandas, ≈0.5 s
    # of every ingest).
    connection.execute("delete from raw.model_prices")
    if rows:
        connection.execute(_INSERT, [[row.get(name) for row in rows] for name in _COLUMNS])
    return len(rows)


_COLUMNS = (
    "provider",
    "model",
    "matched_model",
    *[f"{name}_mtok" for name in COMPONENTS],
    "has_tiers",
    "time_dependent",
    "price_source",
    "price_version",
    "priced",
)
_INSERT = """
insert into raw.model_prices by name
select unnest(?::varchar[]) as provider, unnest(?::varchar[]) as model, unnest(?::varchar[]) as matched_model,
       unnest(?::double[]) as input_mtok, unnest(?::double[]) as output_mtok, unnest(?::double[]) as cache_read_mtok,
       unnest(?::double[]) as cache_write_5m_mtok, unnest(?::double[]) as cache_write_1h_mtok,
       unnest(?::boolean[]) as has_tiers, unnest(?::boolean[]) as time_dependent,
       unnest(?::varchar[]) as price_source, unnest(?::varchar[]) as price_version, unnest(?::boolean[]) as priced
"""
assert COMPONENTS == ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h"), "update _INSERT"
