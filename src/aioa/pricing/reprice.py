"""Re-pricing stored rows whose model had no price, once an override (or a newer price library) knows it."""

from __future__ import annotations

import duckdb

from aioa.pricing.apply import apply_prices
from aioa.pricing.catalog import TENANT_SOURCE, PriceCatalog


def reprice_unpriced(connection: duckdb.DuckDBPyConnection, catalog: PriceCatalog) -> int:
    """Retry pricing of `unpriced` rows; clears their quarantine flags when a price is found. Returns rows priced."""
    pending = connection.execute("select count(*) from raw.llm_calls where price_status = 'unpriced'").fetchone()[0]
    if not pending:
        return 0
    # the run id moves to this run, so the incremental marts (rows loaded since their last build) take the new cost;
    # rows still without a price keep theirs (else every run would hand them to the marts and the sync again)
    connection.execute(
        "create or replace temp table reprice_previous as"
        " select call_key, org_id, ingest_run_id from raw.llm_calls where price_status = 'unpriced'"
    )
    connection.execute(
        "update raw.llm_calls set price_status = 'pending', ingest_run_id = getvariable('ingest_run_id') "
        "where price_status = 'unpriced'"
    )
    still_unpriced = apply_prices(connection, "raw.llm_calls", catalog)
    connection.execute(
        "update raw.llm_calls as c set ingest_run_id = p.ingest_run_id from reprice_previous as p"
        " where c.price_status = 'unpriced' and c.call_key = p.call_key and c.org_id is not distinct from p.org_id"
    )
    connection.execute("drop table reprice_previous")
    connection.execute(
        """
        delete from raw.quarantine as q
        where q.severity = 'flagged' and starts_with(q.reason, 'unknown model')
          -- a line can hold several calls (an OTLP export): the flag goes when none of its model is unpriced
          and not exists (select 1 from raw.llm_calls as c
                          where c.source_file = q.source_file and c.source_line = q.source_line
                            and c.price_status = 'unpriced'
                            and starts_with(q.reason, 'unknown model: no price for ' || c.model || ' ('))
        """
    )
    return pending - still_unpriced


def reprice_tenant_prices(connection: duckdb.DuckDBPyConnection, catalog: PriceCatalog) -> int:
    """Cost again the stored rows an org's own price list now prices differently: rows costed by a list that
    changed or is gone, and rows of models the list now names that were costed otherwise. Their `ingest_run_id`
    becomes this run's, so the incremental marts take the new cost. Returns the rows repriced."""
    groups = connection.execute(
        """
        select org_id, provider, model, price_source, price_version
        from raw.llm_calls
        where list_contains($orgs, org_id) or starts_with(price_source, $tenant_source)
        group by all
        """,
        {"orgs": sorted(catalog.tenant_overrides), "tenant_source": TENANT_SOURCE},
    ).fetchall()
    stale = [group for group in groups if _stale(catalog, *group)]
    repriced = 0
    for org_id, provider, model, source, price_version in stale:
        repriced += connection.execute(
            """
            update raw.llm_calls
            set price_status = 'pending', ingest_run_id = getvariable('ingest_run_id')
            where org_id = $org and provider is not distinct from $provider and model = $model
              and price_source is not distinct from $source and price_version is not distinct from $version
            """,
            {"org": org_id, "provider": provider, "model": model, "source": source, "version": price_version},
        ).fetchone()[0]
    if repriced:
        apply_prices(connection, "raw.llm_calls", catalog)
    return repriced


def _stale(catalog: PriceCatalog, org_id, provider, model, source, price_version) -> bool:
    current = catalog.tenant_digests.get(org_id)
    if source is not None and source.startswith(TENANT_SOURCE):
        return price_version != current  # its org's list changed or is gone
    return current is not None and catalog.tenant_names(org_id, provider, model)
