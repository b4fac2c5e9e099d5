"""`aioa privacy delete`: pseudonymise a person in the warehouse, rebuild the marts, publish, forget old snapshots.

1. One transaction on the writer (the DuckDB writer connection is the warehouse's writer lock, as in an ingest):
   their user ids become `deleted-<hash>` (one per org), person-identifying text in their rows (paths, session ids,
   task text, errors) has their tokens replaced by the same pseudonym, and so has the same text in other people's
   rows of their orgs (a session id or path named after them must not survive in a colleague's rows, and one
   identifier stays one identifier in every row); quarantined lines that mention them lose their raw excerpt, and
   the ingest manifest forgets their files. Measures are never touched: the org totals of calls, tokens and cost
   are compared before commit and must be equal.
2. The pipeline job without sources and ML (`run_pipeline` with no paths, `include_ml=False`, full refresh) rebuilds
   every mart from raw and publishes a snapshot; the warehouse file is then rewritten to a fresh file (DuckDB keeps
   old values in freed blocks) and published once more, and every older snapshot file is removed. Archived rows
   of their orgs (the Parquet archive, `aioa.archive`) take part: their raw rows are brought back into raw inside
   the transaction of step 1 and pseudonymised there, and after the rebuild every archived partition of their
   orgs (calls, tool calls, raw rows) is rewritten from the warehouse, partition by partition.
3. Their private saved items (dashboard layout) and chat links are removed, the authorship of their shared ones
   (annotations, saved views, team KPIs, report templates) pseudonymised (aioa.privacy.items); the identity account
   (if any) is disabled and anonymised, its refresh tokens deleted and the API keys it created revoked; the deletion is recorded in the audit log with counts and the email's hash only.

Server mode (`warehouse = "postgres"`, aioa.privacy.server): step 1 runs on the working warehouse as above, then one
PostgreSQL transaction replaces their orgs' raw rows on the server with the pseudonymised ones and pseudonymises the
server's ML tables (the server's org totals compared before commit); step 2's pipeline run rebuilds the server's marts
and publishes there, the working warehouse file is rewritten, the server tables that were rewritten get a
`VACUUM (FULL)`, and the marts' org totals are compared with those before the deletion.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from aioa.contracts import FACT_CONTRACTS
from aioa.privacy.export import (
    BY_PAIRS,
    MANIFEST_MENTIONS,
    MART_TABLES,
    QUARANTINE_MENTIONS,
    RUNS_MENTIONS,
    TOOL_RESULTS_MENTIONS,
    _existing_tables,
    bound,
    is_theirs,
    ml_tables_with_users,
    registered_pairs,
)
from aioa.privacy.items import forget_items
from aioa.privacy.subjects import Subject, email_hash, identity_store_in_use, pseudonym, resolve_subject
from aioa.settings import Settings
from aioa.warehouse.encryption import attach, load_crypto, warehouse_key
from aioa.warehouse.sql import execute_script

# Columns that never hold a person's text: tenancy, prices, enumerations and lineage. Every other text column of a
# fact row is scrubbed of the person's tokens.
_NOT_PERSONAL = frozenset(
    {
        "org_id",
        "team_id",
        "user_id",
        "provider",
        "model",
        "price_status",
        "price_source",
        "price_version",
        "status",
        "source_system",
        "ingest_run_id",
        "contract_version",
    }
)
# Replace twice: a match takes the separator after it, so "alice/alice" needs a second pass for its second token.
_SCRUB = "regexp_replace(regexp_replace(t.{column}, $pattern, {replacement}, 'g'), $pattern, {replacement}, 'g')"
_PAIR_REPLACEMENT = "p.replacement"
_LINE_REPLACEMENT = "coalesce((select p.replacement from privacy_pairs as p where p.org_id = t.org_id limit 1), $any)"


@dataclass
class DeleteReport:
    email_sha256: str
    orgs: list[str]
    found: bool
    rows: dict[str, int] = field(default_factory=dict)  # their rows changed per table
    mentions: dict[str, int] = field(default_factory=dict)  # other people's rows (their orgs) whose text named them
    totals_unchanged: bool = True
    rebuilt: bool = False
    snapshot_version: str | None = None
    snapshots_removed: list[str] = field(default_factory=list)
    identity: dict = field(default_factory=dict)
    items: dict = field(default_factory=dict)  # their saved items and chat links removed or pseudonymised, per table
    server: dict = field(default_factory=dict)  # server mode: raw rows written per PostgreSQL table, tables vacuumed
    archive: dict = field(default_factory=dict)  # archived rows of their orgs rewritten, per table (aioa.archive)
    audited: bool = False
    # left for the operator: sources outside the warehouse that still name the person
    attribution_users: list[str] = field(default_factory=list)
    attribution_file: str | None = None
    source_files: list[str] = field(default_factory=list)
    files_mentioning: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (
            any(self.rows.values())
            or any(self.mentions.values())
            or self.rebuilt
            or bool(self.snapshots_removed)
            or any(self.identity.values())
            or any(self.items.values())
            or bool(self.server)
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "changed": self.changed}


class PrivacyError(RuntimeError):
    pass


def delete_subject(settings: Settings, email: str, *, org: str | None = None, actor=None) -> DeleteReport:
    """Pseudonymise the person behind `email` everywhere the product stores rows (see the module docstring)."""
    from aioa.warehouse import connect

    connection = connect(settings) if settings.warehouse_path.exists() else None
    try:
        subject = resolve_subject(settings, email, connection, org=org)
        report = DeleteReport(
            email_sha256=email_hash(subject.email),
            orgs=subject.orgs,
            found=subject.found,
            attribution_users=list(subject.config_users),
            attribution_file=subject.config_file,
        )
        marts_hold_them = False
        server_marts_before = None
        if connection is not None and subject.pairs:
            report.source_files = _source_files(connection, subject)
            report.rows, report.mentions = _pseudonymise(settings, connection, subject)
            marts_hold_them = _marts_hold(connection, subject)
            if settings.warehouse == "postgres":
                server_marts_before = _make_server_agree(settings, connection, subject, report)
            connection.execute("checkpoint")
        elif settings.warehouse == "postgres" and subject.pairs:
            _refuse_without_working_warehouse(settings, subject)
    finally:
        if connection is not None:
            connection.close()
    if any(report.rows.values()) or any(report.mentions.values()) or marts_hold_them or report.server:
        report.snapshot_version = _rebuild_and_publish(settings)
        report.rebuilt = True
        if report.server:
            _finish_server(settings, report, server_marts_before)
        report.archive = _rewrite_archive(settings, subject)
        report.snapshot_version = report.archive.get("snapshot_version") or report.snapshot_version
    report.snapshots_removed = remove_older_snapshots(settings)
    report.items = forget_items(settings, subject)
    report.identity = _forget_account(settings, subject)
    report.files_mentioning = files_mentioning(settings, subject)
    report.audited = _audit(settings, subject, report, actor)
    return report


def _pseudonymise(
    settings: Settings, connection: duckdb.DuckDBPyConnection, subject: Subject
) -> tuple[dict[str, int], dict[str, int]]:
    """Every raw (and ML) table in one transaction, their rows first, then other people's rows of their orgs that
    still name them; the org totals must come out equal or nothing is written. Returns the rows changed of each."""
    pseudonyms = {org_id: pseudonym(settings, org_id, subject.email) for org_id, _ in subject.pairs}
    params = {
        "pattern": subject.pattern(),
        "email": subject.email,
        "any": _replacement(pseudonym(settings, None, subject.email)),
    }
    statements = pseudonymise_statements(ml_tables_with_users(connection))
    rows: dict[str, int] = {}
    mentions: dict[str, int] = {}
    with registered_pairs(connection, subject, pseudonyms):
        connection.begin()
        try:
            # their orgs' archived raw rows come back to be pseudonymised here; `_rewrite_archive` moves them back
            rows.update(_restore_archived_raw(settings, connection, subject))
            before = org_totals(connection)
            for name, sql in statements.items():
                rows[name] = _count(connection.execute(sql, bound(sql, params)))
            for name, sql in mention_statements().items():  # after theirs: what still matches is someone else's
                mentions[name] = _count(connection.execute(sql, bound(sql, params)))
            connection.execute(_ONE_USER_ROW_PER_PSEUDONYM)
            after = org_totals(connection)
            if before != after:
                raise PrivacyError(f"org totals would change ({before} -> {after}); nothing was written")
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
    return rows, mentions


_BY_PAIR_JOIN = "from privacy_pairs as p where p.org_id = t.org_id and p.user_id = t.user_id"
# A person known by two ids in one org becomes one pseudonym: keep one entity row of it.
_ONE_USER_ROW_PER_PSEUDONYM = (
    "delete from raw.users where rowid in (select rowid from raw.users where starts_with(user_id, 'deleted-')"
    " qualify row_number() over (partition by org_id, user_id order by rowid) > 1)"
)


def pseudonymise_statements(ml_tables: list[str]) -> dict[str, str]:
    """Table -> the one statement that pseudonymises it (columns from the contracts, tables from our registries;
    the person's values are bound: $pattern, $email, $any, and the registered `privacy_pairs`)."""
    statements = {}
    for contract in FACT_CONTRACTS:
        text_columns = _text_columns(contract)
        assignments = ["user_id = p.pseudonym"] + [
            f"{name} = " + _SCRUB.format(column=name, replacement=_PAIR_REPLACEMENT) for name in text_columns
        ]
        statements[f"raw.{contract.table}"] = (
            f"update raw.{contract.table} as t set {', '.join(assignments)} {_BY_PAIR_JOIN}"
        )
    statements["raw.users"] = (
        f"update raw.users as t set user_id = p.pseudonym, name = null, email = null {_BY_PAIR_JOIN}"
    )
    scrub_line = ", ".join(
        f"{name} = " + _SCRUB.format(column=name, replacement=_LINE_REPLACEMENT) for name in ("source_file", "reason")
    )
    statements["raw.quarantine"] = (
        f"update raw.quarantine as t set raw_excerpt = null, {scrub_line} where {QUARANTINE_MENTIONS}"
    )
    statements["raw.tool_results"] = (
        f"update raw.tool_results as t set error = {_SCRUB.format(column='error', replacement=_LINE_REPLACEMENT)} "
        f"where {TOOL_RESULTS_MENTIONS}"
    )
    statements["raw.ingest_manifest"] = f"delete from raw.ingest_manifest as t where {MANIFEST_MENTIONS}"
    statements["raw.ingest_runs"] = (
        f"update raw.ingest_runs as t set message = {_SCRUB.format(column='message', replacement='$any')} "
        f"where {RUNS_MENTIONS}"
    )
    for table in ml_tables:
        statements[table] = f"update {table} as t set user_id = p.pseudonym {_BY_PAIR_JOIN}"
    return statements


# The person's orgs, each with the regexp replacement of its pseudonym (one pseudonym per org and person).
_THEIR_ORGS = "(select distinct org_id, replacement from privacy_pairs) as o"


def mention_statements() -> dict[str, str]:
    """Fact table -> the statement that replaces the person's tokens in other people's rows of the person's orgs
    (their rows are done by then), over the same text columns as their own rows: a session id, path or project
    named after them becomes the same pseudonymised text it became in their rows, so it stays one identifier and
    names no one. Those rows keep their user id and measures. Other orgs are never touched: a user id is a name
    within one org (another org's `alice` is someone else)."""
    statements = {}
    for contract in FACT_CONTRACTS:
        text_columns = _text_columns(contract)
        assignments = ", ".join(
            f"{name} = " + _SCRUB.format(column=name, replacement="o.replacement") for name in text_columns
        )
        named = " or ".join(f"regexp_matches(coalesce(t.{name}, ''), $pattern)" for name in text_columns)
        statements[f"raw.{contract.table}"] = (
            f"update raw.{contract.table} as t set {assignments} from {_THEIR_ORGS} "
            f"where o.org_id = t.org_id and ({named})"
        )
    return statements


def _text_columns(contract) -> list[str]:
    """The contract's text columns that may hold a person's tokens (paths, ids, free text)."""
    return [
        column.name for column in contract.columns if column.sql_type == "VARCHAR" and column.name not in _NOT_PERSONAL
    ]


def org_totals(connection: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Calls, tokens and cost per org in the raw facts: what a deletion must leave exactly as it was."""
    return connection.execute(
        """
        select 'llm_calls', org_id, count(*),
               sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens),
               sum(cost_usd)
        from raw.llm_calls group by org_id
        union all
        select 'handoffs', org_id, count(*), sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)),
               sum(cost_usd)
        from raw.handoffs group by org_id
        union all
        select 'tool_calls', org_id, count(*), null, null from raw.tool_calls group by org_id
        order by 1, 2
        """
    ).fetchall()


# Fact marts whose session and project ids may be named after a person, and the rows of the person's orgs that
# still name them there ($pattern bound, privacy_pairs registered).
_MARTS_WITH_SESSIONS = ("fct_llm_calls", "fct_tool_calls", "fct_handoffs", "fct_sessions")
_NAMES_THEM = (
    "t.org_id in (select org_id from privacy_pairs) and regexp_matches("
    "coalesce(t.session_id, '') || ' ' || coalesce(t.project_id, ''), $pattern)"
)


def _marts_hold(connection: duckdb.DuckDBPyConnection, subject: Subject) -> bool:
    """Whether a mart still has a row of theirs, or a session or project id of their orgs that names them (a
    deletion interrupted before its rebuild is finished by the next)."""
    existing = _existing_tables(connection)
    with registered_pairs(connection, subject):
        for table in MART_TABLES:
            name = f"marts.{table}"
            # table names from MART_TABLES
            if (
                name in existing
                and connection.execute(f"select count(*) from {name} as t where {BY_PAIRS}").fetchone()[0]
            ):
                return True
        for table in _MARTS_WITH_SESSIONS if subject.pattern() else ():
            name = f"marts.{table}"
            # table names from _MARTS_WITH_SESSIONS; the tokens bound
            sql = f"select count(*) from {name} as t where {_NAMES_THEM}"
            if name in existing and connection.execute(sql, {"pattern": subject.pattern()}).fetchone()[0]:
                return True
    return False


def _source_files(connection: duckdb.DuckDBPyConnection, subject: Subject) -> list[str]:
    """The log files their rows came from (outside the warehouse: the operator removes them, or a later ingest of a
    changed file reads their lines again)."""
    with registered_pairs(connection, subject):
        parts = " union ".join(
            f"select distinct source_file from raw.{contract.table} as t where {BY_PAIRS}"
            for contract in FACT_CONTRACTS
        )
        return sorted(path for (path,) in connection.execute(parts).fetchall())


def _rebuild_and_publish(settings: Settings) -> str | None:
    """The pipeline job with no source paths (its ingest steps do nothing) and without ML: dbt rebuilds every mart
    from raw (full refresh), the checks run, a snapshot is published. Then the warehouse file is rewritten to drop
    the freed blocks that may still hold old values, and published again."""
    from aioa.pipeline import SourcePaths, run_pipeline
    from aioa.warehouse.snapshots import publish_snapshot

    run = run_pipeline(settings, SourcePaths(), full_refresh=True, include_ml=False)
    compact_warehouse(settings)
    if settings.warehouse == "postgres":
        return run.snapshot_version  # published on the server by the job; server mode has no snapshot file
    return publish_snapshot(settings)


def _make_server_agree(
    settings: Settings, connection: duckdb.DuckDBPyConnection, subject: Subject, report: DeleteReport
) -> list[tuple] | None:
    """Server mode, after step 1 (the working warehouse's writer still held, so no ingest runs in between): when the
    working warehouse changed or the server still holds them, their orgs' raw rows on the server become the
    pseudonymised ones and the server's ML tables are pseudonymised (aioa.privacy.server.make_server_agree). Sets
    `report.server` (and their ML rows in `report.rows`); returns the server marts' org totals from before, for
    `_finish_server` to compare."""
    from aioa.privacy.server import make_server_agree, mart_totals, server_holds

    changed = any(report.rows.values()) or any(report.mentions.values())
    if not changed and not server_holds(settings, subject):
        return None
    before = mart_totals(settings)
    ml_rows, written = make_server_agree(settings, connection, subject)
    for table, count in ml_rows.items():
        report.rows[table] = report.rows.get(table, 0) + count
    report.server = {"rows_written": written, "ml_tables": sorted(ml_rows), "vacuumed": []}
    return before


def _finish_server(settings: Settings, report: DeleteReport, marts_before: list[tuple] | None) -> None:
    """After the rebuild: `VACUUM (FULL)` of every server table the deletion (and the job's sync) rewrote, then the
    marts' org totals must be those from before the deletion."""
    from aioa.privacy.server import mart_totals, vacuum_full

    report.server["vacuumed"] = vacuum_full(settings, [*report.server["rows_written"], *report.server["ml_tables"]])
    after = mart_totals(settings)
    if marts_before is not None and after != marts_before:
        report.totals_unchanged = False
        raise PrivacyError(
            f"the rebuilt marts' org totals differ from before the deletion ({marts_before} -> {after}); the raw "
            "totals were equal: check the marts (a full `aioa run`) before trusting them"
        )


def _refuse_without_working_warehouse(settings: Settings, subject: Subject) -> None:
    """Server mode without the working warehouse: the server's rows cannot be made to agree with it."""
    from aioa.privacy.server import server_holds

    if server_holds(settings, subject):
        raise PrivacyError(
            f"PostgreSQL holds their rows but the working warehouse {settings.warehouse_path} is missing: run the "
            "deletion on the host (and AIOA_HOME) that runs the pipeline"
        )


def _restore_archived_raw(settings: Settings, connection: duckdb.DuckDBPyConnection, subject: Subject) -> dict:
    """Their orgs' raw rows in the Parquet archive, back in raw (in the caller's transaction), counted per table as
    `archive:<table>` (`aioa.archive.run.restore_archived_raw`)."""
    from aioa.archive.run import restore_archived_raw

    restored = restore_archived_raw(connection, settings, subject.orgs)
    return {f"archive:{table}": count for table, count in restored.items()}


def _rewrite_archive(settings: Settings, subject: Subject) -> dict:
    """The Parquet archive's rows of their orgs (calls, tool calls and their raw rows), rewritten from the
    pseudonymised raw and the marts rebuilt from it, partition by partition (`aioa.archive.run.rewrite_archived`)."""
    from aioa.archive.run import rewrite_archived

    return rewrite_archived(settings, subject.orgs)


def compact_warehouse(settings: Settings) -> None:
    """Copy the warehouse into a fresh file and swap it in (`COPY FROM DATABASE`): only live rows are written, so
    no freed block of the old file (which may still hold a replaced value) reaches a snapshot."""
    path = settings.warehouse_path
    fresh = path.with_name(path.name + ".compact")
    fresh.unlink(missing_ok=True)
    key = warehouse_key(settings)  # the compacted file is encrypted like the warehouse
    connection = duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit})
    try:
        if key is not None:
            load_crypto(connection)
        attach(connection, path, "source", key, read_only=True)
        attach(connection, fresh, "compacted", key)
        execute_script(connection, "copy from database source to compacted")  # DuckDB 1.5 expands it: several
        connection.execute("detach compacted")
        connection.execute("detach source")
    finally:
        connection.close()
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def remove_older_snapshots(settings: Settings) -> list[str]:
    """Delete every snapshot file except the current one (a reader that has an old one open keeps reading it until
    it closes: POSIX frees the file then)."""
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot, snapshot_dir

    folder = snapshot_dir(settings)
    try:
        _, current = current_snapshot(settings)
    except NoSnapshotError:
        current = None
    removed = []
    for old in sorted(folder.glob("warehouse-*")) if folder.exists() else []:
        if current is None or old.name != current.name:
            old.unlink(missing_ok=True)
            removed.append(old.name)
    return removed


def _forget_account(settings: Settings, subject: Subject) -> dict:
    """Disable and anonymise the identity account, delete its refresh tokens, revoke the API keys it created."""
    if not identity_store_in_use(settings):
        return {}
    try:
        from sqlalchemy import delete, select

        from aioa.identity import clock
        from aioa.identity.models import ApiKey, RefreshToken, User
        from aioa.identity.store import session_scope
    except ImportError:
        return {}
    done = {"accounts_anonymised": 0, "refresh_tokens_deleted": 0, "api_keys_revoked": 0}
    with session_scope(settings) as session:
        for key in session.scalars(select(ApiKey)):
            if is_theirs(key.created_by, subject):
                key.created_by = "deleted user"
                if key.revoked_at is None:
                    key.revoked_at = clock.now()
                    done["api_keys_revoked"] += 1
        if subject.account is None:
            return done
        user = session.get(User, subject.account["id"])
        if user is None:
            return done
        alias = pseudonym(settings, user.org_id, subject.email)
        user.email = f"{alias}@deleted.invalid"
        user.password_hash, user.issuer, user.subject = None, None, None
        user.usage_user_ids = [alias] if user.usage_user_ids else []
        user.disabled, user.failed_signins, user.locked_until = True, 0, None
        done["accounts_anonymised"] = 1
        done["refresh_tokens_deleted"] = _count_rowcount(
            session.execute(delete(RefreshToken).where(RefreshToken.user_id == user.id))
        )
    return done


def files_mentioning(settings: Settings, subject: Subject, *, max_bytes: int = 256 * 1024 * 1024) -> list[str]:
    """Files under AIOA_HOME (other than the warehouse and the current snapshot, checked by table) whose bytes still
    mention the person: source logs kept under the home, Dagster's run storage, logs, MLflow artifacts trained
    before the deletion, the audit trail. Listed, not rewritten (see docs/privacy.md)."""
    if not subject.tokens or not settings.home.exists():
        return []
    pattern = re.compile(
        rb"(?<![A-Za-z0-9])(?:"
        + b"|".join(re.escape(token.encode()) for token in subject.tokens)
        + rb")(?![A-Za-z0-9])",
        re.IGNORECASE,
    )
    skip = {settings.warehouse_path.resolve()}
    found = []
    for root, _, names in os.walk(settings.home):
        for name in names:
            path = Path(root) / name
            try:
                if path.resolve() in skip or path.is_symlink() or path.stat().st_size > max_bytes:
                    continue
                if path.parent.name == "snapshots" and name.startswith("warehouse-"):
                    continue  # the current snapshot: rebuilt from the pseudonymised warehouse
                if pattern.search(path.read_bytes()):
                    found.append(str(path.relative_to(settings.home)))
            except OSError:
                continue
    return sorted(found)


def _audit(settings: Settings, subject: Subject, report: DeleteReport, actor) -> bool:
    try:
        from aioa.identity import audit
        from aioa.identity.principal import local_operator
    except ImportError:
        return False
    detail = {
        "email_sha256": report.email_sha256,
        "rows": {name: count for name, count in report.rows.items() if count},
        "mentions": {name: count for name, count in report.mentions.items() if count},
        "identity": report.identity,
        "items": {name: count for name, count in report.items.items() if count},
        "rebuilt": report.rebuilt,
        "snapshot_version": report.snapshot_version,
        "snapshots_removed": len(report.snapshots_removed),
        "server": report.server,
        "changed": report.changed,
    }
    for org_id in report.orgs or [None]:
        audit.record(
            settings,
            actor=actor or local_operator(),
            action="privacy.delete",
            org_id=org_id,
            target=f"sha256:{report.email_sha256}",
            detail=detail,
        )
    return True


def _replacement(alias: str) -> str:
    return "\\1" + alias + "\\2"


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _count_rowcount(result) -> int:
    return max(int(result.rowcount or 0), 0)
