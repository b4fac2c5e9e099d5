"""Re-pricing stored rows whose model had no price, once an override (or a newer price library) knows it."""

from __future__ import annotations

import duckdb

from aioa.pricing.apply import apply_prices
from aioa.pricing.catalog import PriceCatalog


def reprice_unpriced(connection: duckdb.DuckDBPyConnection, catalog: PriceCatalog) -> int:
    """Retry pricing of `unpriced` rows; clears their quarantine flags when a price is found. Returns rows priced."""
    pending = connection.execute("select count(*) from raw.llm_calls where price_status = 'unpriced'").fetchone()[0]
    if not pending:
        return 0
    connection.execute("update raw.llm_calls set price_status = 'pending' where price_status = 'unpriced'")
    still_unpriced = apply_prices(connection, "raw.llm_calls", catalog)
    connection.execute(
        """
        delete from raw.quarantine as q
        where q.severity = 'flagged' and starts_with(q.reason, 'unknown model')
          and exists (select 1 from raw.llm_calls as c
                      where c.source_file = q.source_file and c.source_line = q.source_line
                        and c.price_status <> 'unpriced')
        """
    )
    return pending - still_unpriced
