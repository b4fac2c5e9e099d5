"""DDL for the raw layer, generated from the contracts so code, tables and docs cannot drift."""

from __future__ import annotations

from aioa.contracts import ALL_CONTRACTS, Contract

RAW_SCHEMA = "raw"

BOOKKEEPING_DDL = f"""
create table if not exists {RAW_SCHEMA}.quarantine (
    ingest_run_id varchar not null,
    source_system varchar not null,
    source_file varchar not null,
    source_line bigint not null,
    severity varchar not null,      -- rejected: not loaded; flagged: loaded but needs attention
    reason varchar not null,
    raw_excerpt varchar,
    detected_at timestamp not null default current_timestamp,
    org_id varchar                  -- tenant of the line when known; NULL: operators only (e.g. an unparsed line)
);
alter table {RAW_SCHEMA}.quarantine add column if not exists org_id varchar;  -- warehouses created before it
create table if not exists {RAW_SCHEMA}.ingest_manifest (
    source_system varchar not null,
    path varchar not null,
    size_bytes bigint not null,
    mtime_ns bigint not null,
    consumed_bytes bigint not null,
    consumed_lines bigint not null,
    prefix_sha256 varchar not null,
    ingest_run_id varchar not null,
    updated_at timestamp not null default current_timestamp,
    primary key (source_system, path)
);
create table if not exists {RAW_SCHEMA}.tool_results (
    tool_call_key varchar not null,   -- results are kept so a call that arrives later is completed too
    result_ts_utc timestamp,
    success boolean,
    error varchar,
    org_id varchar                    -- org of the transcript that holds the result; matched with (org, key)
);
-- warehouses created before it: their results (NULL org) complete no call that arrives later
alter table {RAW_SCHEMA}.tool_results add column if not exists org_id varchar;
create table if not exists {RAW_SCHEMA}.model_prices (
    provider varchar,
    model varchar not null,           -- one row per (provider, model) seen in the facts; prices USD per million tokens
    matched_model varchar,
    input_mtok double,
    output_mtok double,
    cache_read_mtok double,
    cache_write_5m_mtok double,
    cache_write_1h_mtok double,
    has_tiers boolean,
    time_dependent boolean,
    price_source varchar,
    price_version varchar,
    priced boolean not null
);
create table if not exists {RAW_SCHEMA}.ingest_runs (
    ingest_run_id varchar primary key,
    source_system varchar not null,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,
    files_seen bigint default 0,
    files_read bigint default 0,
    bytes_read bigint default 0,
    lines_read bigint default 0,
    rows_added bigint default 0,
    rows_updated bigint default 0,
    duplicates_skipped bigint default 0,
    quarantined bigint default 0,
    flagged bigint default 0,
    unpriced bigint default 0,
    message varchar
);
"""


def table_ddl(contract: Contract) -> str:
    columns = ",\n    ".join(
        f"{column.name} {column.sql_type}{'' if column.nullable else ' not null'}" for column in contract.columns
    )
    return f"create table if not exists {RAW_SCHEMA}.{contract.table} (\n    {columns}\n);"


def all_ddl() -> str:
    parts = [f"create schema if not exists {RAW_SCHEMA};"]
    parts += [table_ddl(contract) for contract in ALL_CONTRACTS]
    parts.append(BOOKKEEPING_DDL)
    return "\n".join(parts)
