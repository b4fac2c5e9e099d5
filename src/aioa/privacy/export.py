"""`aioa privacy export`: everything stored about one person, as one JSON document.

The account (no password hash), the API keys they created (no key hash), the audit entries where they are actor or
target, what they saved in the identity store and their chat links (`items`, see aioa.privacy.items), and every warehouse row that carries their user ids (raw tables, marts, ML tables) or, for quarantined
lines and ingest bookkeeping, mentions them: each under its table's name. Reads the working warehouse read-only
(the published snapshot is a copy of it); in server mode the PostgreSQL warehouse (aioa.privacy.server), and from the
working warehouse only the tables the server has no copy of (the ingest manifest, tool results).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from aioa.contracts import FACT_CONTRACTS
from aioa.privacy.subjects import Subject, identity_store_in_use, resolve_subject
from aioa.settings import Settings
from aioa.warehouse.ml_tables import ML_TABLES

# Marts whose rows carry (org_id, user_id); tests/privacy checks this list against the built warehouse.
MART_TABLES = (
    "fct_llm_calls",
    "fct_tool_calls",
    "fct_handoffs",
    "fct_sessions",
    "agg_usage_daily",
    "agg_usage_hourly",
    "agg_mcp_tool_usage_daily",
    "agg_mcp_tools_daily",
    "dim_users",
    "agg_tool_usage_daily",
    "fct_session_sequences",
    "fct_commit_costs",
    "agg_issue_costs",
    "agg_pull_request_costs",
)
PAIRS_VIEW = "privacy_pairs"  # (org_id, user_id) of the subject, registered on the connection

# Which rows are the person's, per table (`t` is the table; $pattern/$email bound; privacy_pairs registered).
BY_PAIRS = f"exists (select 1 from {PAIRS_VIEW} as p where p.org_id = t.org_id and p.user_id = t.user_id)"
QUARANTINE_MENTIONS = f"""(
    (t.org_id is null or t.org_id in (select org_id from {PAIRS_VIEW}))
    and regexp_matches(concat_ws(' ', t.source_file, t.reason, t.raw_excerpt), $pattern)
    or strpos(lower(concat_ws(' ', t.source_file, t.reason, t.raw_excerpt)), $email) > 0
)"""
# A tool's error text (e.g. a path under their home) in their orgs; results carry no user id of their own.
TOOL_RESULTS_MENTIONS = f"""(
    (t.org_id is null or t.org_id in (select org_id from {PAIRS_VIEW}))
    and regexp_matches(coalesce(t.error, ''), $pattern)
)"""
MANIFEST_MENTIONS = "regexp_matches(t.path, $pattern)"
RUNS_MENTIONS = "regexp_matches(coalesce(t.message, ''), $pattern)"

_RAW_SELECTIONS = {
    **{f"raw.{contract.table}": BY_PAIRS for contract in FACT_CONTRACTS},
    "raw.users": f"({BY_PAIRS} or lower(t.email) = $email)",
    "raw.quarantine": QUARANTINE_MENTIONS,
    "raw.tool_results": TOOL_RESULTS_MENTIONS,
    "raw.ingest_manifest": MANIFEST_MENTIONS,
    "raw.ingest_runs": RUNS_MENTIONS,
}


def export_subject(settings: Settings, email: str, *, org: str | None = None) -> dict:
    """The JSON-ready export of the person behind `email` (optionally only within `org`)."""
    from aioa.privacy.items import export_items

    with _warehouse_reader(settings) as connection:
        subject = resolve_subject(settings, email, connection, org=org)
        tables = subject_rows(connection, subject, settings) if connection is not None else {}
    if settings.warehouse == "postgres":
        tables |= _working_only_rows(settings, subject, skip=set(tables))
    return {
        "subject": describe_subject(subject),
        "exported_at": datetime.now(UTC).isoformat(),
        "account": subject.account,
        "api_keys": _api_keys(settings, subject),
        "audit_entries": _audit_entries(settings, subject),
        "items": export_items(settings, subject),
        "warehouse": {
            "path": str(settings.warehouse_path),
            "row_counts": {name: len(rows) for name, rows in tables.items()},
            "tables": tables,
        },
    }


def describe_subject(subject: Subject) -> dict:
    return {
        "email": subject.email,
        "org": subject.org,
        "orgs": subject.orgs,
        "user_ids": [{"org_id": org_id, "user_id": user_id} for org_id, user_id in subject.pairs],
        "attribution_users": list(subject.config_users),
        "attribution_file": subject.config_file,
        "rule": "identity account with this email (its org and usage_user_ids), attribution users whose email, id "
        "or match.names is this email (their org and id), and warehouse rows whose user_id is this email",
    }


def subject_rows(
    connection: duckdb.DuckDBPyConnection,
    subject: Subject,
    settings: Settings | None = None,
    *,
    skip: Collection[str] = (),
) -> dict[str, list[dict]]:
    """Every stored row of the person, by `schema.table` (tables not built yet, and those in `skip`, are left out),
    and their archived rows by `archive:<schema.table>` when `settings` name an archive."""
    existing = _existing_tables(connection) - set(skip)
    params = {"pattern": subject.pattern(), "email": subject.email}
    tables: dict[str, list[dict]] = {}
    with registered_pairs(connection, subject):
        for name, where in _selections(connection, existing).items():
            # table names from the contracts, MART_TABLES and ML_TABLES; the person's values are bound
            sql = f"select * from {name} as t where {where}"
            tables[name] = _dicts(connection.execute(sql, bound(sql, params)))
        if settings is not None:
            tables |= _archived_rows(connection, subject, settings)
    return tables


# The archive's rows of an archived table (aioa.archive), as the table's rows: $files bound, privacy_pairs registered;
# {read}: the archive's encryption option (aioa.archive.store.read_options, a constant naming the key).
_ARCHIVED_ROWS = (
    "select * exclude (org, month) from read_parquet($files, hive_partitioning = true, hive_types_autocast = false"
    "{read})" + f" as t where {BY_PAIRS}"
)


def _archived_rows(connection: duckdb.DuckDBPyConnection, subject: Subject, settings: Settings) -> dict:
    """Their rows in the Parquet archive (calls, tool calls, raw rows past retention), as `archive:<table>`: read
    through the reader's read-only `aioaarchive://`, only their orgs' partitions. Empty when nothing is archived
    (or a reader that was opened before there was an archive)."""
    from aioa.archive.store import ARCHIVED_TABLES, PROTOCOL

    if not connection.filesystem_is_registered(PROTOCOL):
        return {}
    from aioa.archive.store import archive_filesystem, archived_files, is_encrypted, read_options

    filesystem = archive_filesystem(settings, writable=False)
    sql = _ARCHIVED_ROWS.format(read=read_options(is_encrypted(settings)))  # the key: added when the reader opened
    rows = {}
    for table, spec in ARCHIVED_TABLES.items():
        files = archived_files(filesystem, spec, subject.orgs)
        if files:
            rows[f"archive:{table}"] = _dicts(connection.execute(sql, {"files": files}))
    return rows


def _selections(connection: duckdb.DuckDBPyConnection, existing: set[str]) -> dict[str, str]:
    selections = {name: where for name, where in _RAW_SELECTIONS.items() if name in existing}
    selections |= {f"marts.{table}": BY_PAIRS for table in MART_TABLES if f"marts.{table}" in existing}
    selections |= {name: BY_PAIRS for name in ml_tables_with_users(connection, existing)}
    return selections


def ml_tables_with_users(connection: duckdb.DuckDBPyConnection, existing: set[str] | None = None) -> list[str]:
    """`ml.<table>` of the ML_TABLES registry that hold (org_id, user_id) columns (e.g. per-user anomalies)."""
    existing = existing if existing is not None else _existing_tables(connection)
    found = []
    for table in sorted(ML_TABLES):
        if f"ml.{table}" not in existing:
            continue
        columns = {
            column
            for (column,) in connection.execute(
                "select column_name from information_schema.columns where table_schema = 'ml' and table_name = ?",
                [table],
            ).fetchall()
        }
        if {"org_id", "user_id"} <= columns:
            found.append(f"ml.{table}")
    return found


@contextlib.contextmanager
def registered_pairs(
    connection: duckdb.DuckDBPyConnection, subject: Subject, pseudonyms: dict[str, str] | None = None
) -> Iterator[None]:
    """The person's (org_id, user_id) pairs as the view `privacy_pairs`; with `pseudonyms` (org -> alias) also
    each pair's `pseudonym` and its regexp `replacement` (the characters around the token kept)."""
    pseudonyms = pseudonyms or {}
    aliases = [pseudonyms.get(org_id) for org_id, _ in subject.pairs]
    pairs = pa.table(
        {
            "org_id": pa.array([org_id for org_id, _ in subject.pairs], pa.string()),
            "user_id": pa.array([user_id for _, user_id in subject.pairs], pa.string()),
            "pseudonym": pa.array(aliases, pa.string()),
            "replacement": pa.array(
                [None if alias is None else "\\1" + alias + "\\2" for alias in aliases], pa.string()
            ),
        }
    )
    connection.register(PAIRS_VIEW, pairs)
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            connection.unregister(PAIRS_VIEW)


def bound(sql: str, params: dict) -> dict:
    """The parameters `sql` names (`$name`): DuckDB refuses named parameters a statement does not use."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _existing_tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{table}"
        for schema, table in connection.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
        ).fetchall()
    }


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [{name: _plain(value) for name, value in zip(names, row, strict=True)} for row in cursor.fetchall()]


def _plain(value):
    """JSON-ready: exact decimals as text, times as ISO-8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@contextlib.contextmanager
def _warehouse_reader(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection | None]:
    if settings.warehouse == "postgres":
        from aioa.privacy.server import server_reader

        with server_reader(settings) as server:
            yield server
        return
    if not settings.warehouse_path.exists():
        yield None
        return
    from aioa.warehouse.connection import connect_reader

    connection = connect_reader(settings.warehouse_path, settings)
    try:
        yield connection
    finally:
        connection.close()


def _working_only_rows(settings: Settings, subject: Subject, skip: set[str]) -> dict[str, list[dict]]:
    """Server mode: their rows in the working warehouse's tables the server has no copy of (`skip`: the tables
    read there), e.g. the ingest manifest."""
    if not settings.warehouse_path.exists():
        return {}
    from aioa.warehouse.connection import connect_reader

    connection = connect_reader(settings.warehouse_path, settings)
    try:
        return subject_rows(connection, subject, skip=skip)
    finally:
        connection.close()


def _api_keys(settings: Settings, subject: Subject) -> list[dict]:
    if not identity_store_in_use(settings):
        return []
    try:
        from aioa.identity.api_keys import list_keys
    except ImportError:
        return []
    return [key.to_dict() for key in list_keys(settings) if is_theirs(key.created_by, subject)]


def _audit_entries(settings: Settings, subject: Subject) -> list[dict]:
    if not identity_store_in_use(settings):
        return []
    try:
        from aioa.identity import audit
    except ImportError:
        return []
    return [
        entry
        for entry in audit.export(settings)
        if is_theirs(entry["actor"], subject) or is_theirs(entry["target"], subject)
    ]


def is_theirs(name: str | None, subject: Subject) -> bool:
    """An actor or target text that names the person: their email, `... <email>`, their account id as
    `user:<id>`, or the deletion record's `sha256:<email hash>`."""
    if not name:
        return False
    text = name.strip().lower()
    account_id = subject.account["id"] if subject.account else None
    return (
        text == subject.email
        or text.endswith(f"<{subject.email}>")
        or text == f"sha256:{subject.email_hash}"
        or (account_id is not None and (text == account_id or text.split(" ")[0] == f"user:{account_id}"))
    )
