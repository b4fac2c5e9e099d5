"""Merging a staged batch into the raw tables: de-duplicate on (org, the source's own ids), keep the most complete row.

A key belongs to the first org that loaded it: a staged row whose key is already stored under another org (or that
another org claims first in the same batch) is quarantined, never merged, and a merge never changes who a row
belongs to. Keys therefore stay unique in raw across orgs, and the marts keep their keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from aioa.attribution import AttributionConfig, attribute_rows
from aioa.contracts import HANDOFF, LLM_CALL, TOOL_CALL, Contract

FOREIGN_KEY_REASON = "id already belongs to another org"


@dataclass(frozen=True)
class MergeRule:
    contract: Contract
    # Order that puts the most complete snapshot of a key first.
    completeness: str
    # SQL condition (staged `s`, stored `t`) under which a staged row replaces the stored one; None: never.
    replaces_when: str | None
    # The columns such a replacement writes: measures and lineage only, never the key, the tenant (org, team,
    # user, project) or the identity of the call (source, session, message).
    replaceable: tuple[str, ...] = ()
    # The same order as one struct for arg_max (NULLs mapped to the low end, as the window puts them last): a hash
    # aggregate over two columns is much cheaper than a window that carries every column. None: use the window.
    most_complete: str | None = None


MERGE_RULES = {
    LLM_CALL.table: MergeRule(
        LLM_CALL,
        completeness="output_tokens desc, input_tokens + cache_write_5m_tokens + cache_write_1h_tokens"
        " + cache_read_tokens desc, ts_utc desc, source_file desc, source_line desc",
        replaces_when="s.output_tokens > t.output_tokens or (s.output_tokens = t.output_tokens and "
        "s.input_tokens + s.cache_write_5m_tokens + s.cache_write_1h_tokens + s.cache_read_tokens > "
        "t.input_tokens + t.cache_write_5m_tokens + t.cache_write_1h_tokens + t.cache_read_tokens)",
        replaceable=(
            "ts_utc",
            "input_tokens",
            "output_tokens",
            "cache_write_5m_tokens",
            "cache_write_1h_tokens",
            "cache_read_tokens",
            "cost_usd",
            "price_status",
            "price_source",
            "price_version",
            "latency_ms",
            "status",
            "error",
            "source_file",
            "source_line",
            "ingest_run_id",
            "contract_version",
        ),
        most_complete="(coalesce(output_tokens, -1), coalesce(input_tokens + cache_write_5m_tokens"
        " + cache_write_1h_tokens + cache_read_tokens, -1), coalesce(ts_utc, '-infinity'::timestamp),"
        " coalesce(source_file, ''), coalesce(source_line, -1))",
    ),
    # a resumed session repeats earlier tool calls, often at the same line number: the file breaks the tie
    TOOL_CALL.table: MergeRule(
        TOOL_CALL, completeness="ts_utc asc, source_line asc, source_file asc", replaces_when=None
    ),
    HANDOFF.table: MergeRule(HANDOFF, completeness="source_file desc, source_line desc", replaces_when=None),
}


@dataclass
class MergeCounts:
    staged: int = 0
    added: int = 0
    updated: int = 0
    rejected: int = 0  # staged rows whose key belongs to another org (quarantined)

    @property
    def duplicates(self) -> int:
        return self.staged - self.added - self.updated - self.rejected


def merge_staged(
    connection: duckdb.DuckDBPyConnection, table: str, archived: list[str] | None = None, archive_options: str = ""
) -> MergeCounts:
    """Merge temp table `stage_<table>` into `raw.<table>` (inside the caller's transaction).

    Wide rows are copied once (into the raw table): the batch is de-duplicated by picking the winning stage rowid of
    each (org, key), and the large, growing raw table is scanned once per batch to find which keys it already holds
    and under which org. Rows whose key another org owns go to `stage_quarantine` instead. `archived`: the Parquet
    archive's files of this table where the batch's rows fall (`aioa.archive.run.archived_files_for_stage`): their
    keys count as stored (never inserted again; an archived row is final and is not updated). `archive_options`:
    what the archive's scans add when it is encrypted (`aioa.archive.store.read_options`).
    """
    rule = MERGE_RULES[table]
    key = rule.contract.key[0]
    columns = ", ".join(rule.contract.column_names)
    staged = connection.execute(f"select count(*) from stage_{table}").fetchone()[0]
    if rule.most_complete:
        winners = (
            f"select org_id, {key}, arg_max(rowid, {rule.most_complete}) as stage_rowid "
            f"from stage_{table} group by org_id, {key}"
        )
    else:
        winners = (
            f"select org_id, {key}, rowid as stage_rowid from stage_{table} "
            f"qualify row_number() over (partition by org_id, {key} order by {rule.completeness}) = 1"
        )
    connection.execute(f"create or replace temp table merge_winners as {winners}")
    stored = connection.execute(
        f"create or replace temp table merge_stored as select {key}, org_id from raw.{table} "
        f"where {key} in (select {key} from merge_winners)"
    ).fetchone()[0]
    if archived:
        stored += connection.execute(
            f"insert into merge_stored select {key}, org_id from read_parquet($files, hive_partitioning = true, "
            f"hive_types_autocast = false{archive_options}) where {key} in (select {key} from merge_winners)",
            {"files": archived},
        ).fetchone()[0]
    # After this, every winner left is of the org that owns its key: the update below matches on the key alone
    # (a second join column costs a third more on large batches).
    rejected = _reject_foreign_keys(connection, table, key)
    updated = 0
    if rule.replaces_when and stored:
        assignments = ", ".join(f"{name} = s.{name}" for name in rule.replaceable)
        updated = connection.execute(
            f"update raw.{table} as t set {assignments} from ("
            f"select staged.* from stage_{table} as staged join merge_winners as w on staged.rowid = w.stage_rowid "
            f"where w.{key} in (select {key} from merge_stored)) as s "
            f"where t.{key} = s.{key} and ({rule.replaces_when})"
        ).fetchone()[0]
    added = connection.execute(
        f"insert into raw.{table} ({columns}) select {columns} from stage_{table} where rowid in ("
        f"select w.stage_rowid from merge_winners as w anti join merge_stored using ({key}))"
    ).fetchone()[0]
    for temp in ("merge_winners", "merge_stored", "merge_foreign"):
        connection.execute(f"drop table {temp}")
    return MergeCounts(staged=staged, added=added, updated=updated, rejected=rejected)


def _reject_foreign_keys(connection: duckdb.DuckDBPyConnection, table: str, key: str) -> int:
    """Find the (org, key) pairs of the batch whose key another org owns, quarantine their rows and drop them from
    the winners; return the number of staged rows rejected.

    The owner is the org stored in raw; for a key new to raw that several orgs stage at once, the org whose row
    comes first in reading order (file, line).
    """
    connection.execute(f"""
        create or replace temp table merge_foreign as
        select w.org_id, w.{key}
        from merge_winners as w join merge_stored as stored using ({key})
        where w.org_id <> stored.org_id
        union all
        select w.org_id, w.{key}
        from merge_winners as w
        join (
            select {key}, arg_min(org_id, (source_file, source_line)) as owner_org
            from stage_{table}
            where {key} in (select {key} from merge_winners group by {key} having count(*) > 1)
              and {key} not in (select {key} from merge_stored)
            group by {key}
        ) as first_claim using ({key})
        where w.org_id <> first_claim.owner_org
    """)
    rejected = connection.execute(
        f"select count(*) from stage_{table} semi join merge_foreign using (org_id, {key})"
    ).fetchone()[0]
    if rejected:
        connection.execute(
            f"""
            insert into stage_quarantine (source_system, source_file, source_line, severity, reason, raw_excerpt)
            select distinct source_system, source_file, source_line, 'rejected', $reason || ': ' || {key},
                   cast(null as varchar)
            from stage_{table} semi join merge_foreign using (org_id, {key})
        """,
            {"reason": FOREIGN_KEY_REASON},
        )
        connection.execute(
            f"delete from merge_winners as w using merge_foreign as f where w.org_id = f.org_id and w.{key} = f.{key}"
        )
    return rejected


def apply_tool_results(connection: duckdb.DuckDBPyConnection, config: AttributionConfig) -> None:
    """Keep tool results (which may arrive in a later batch than their call) and complete the calls they answer.

    A result is attributed like the other rows of its transcript and only ever completes a call of its own org:
    results are kept and matched on (org_id, tool_call_key), so another org's file holding the same tool-use id
    changes nothing here (its result is stored under its own org, where no such call exists).
    """
    attribute_rows(connection, "stage_tool_results", config)
    connection.execute(
        """
        insert into raw.tool_results (tool_call_key, org_id, result_ts_utc, success, error)
        select s.tool_call_key, s.org_id, s.result_ts_utc, s.success, s.error
        from stage_tool_results as s
        where not exists (select 1 from raw.tool_results as r
                          where r.org_id = s.org_id and r.tool_call_key = s.tool_call_key)
        qualify row_number() over (partition by s.org_id, s.tool_call_key
                                   order by s.result_ts_utc desc nulls last, s.source_file, s.source_line) = 1
        """
    )
    connection.execute(
        """
        update raw.tool_calls as t set
            success = r.success,
            error = r.error,
            duration_ms = greatest(datediff('millisecond', t.ts_utc, r.result_ts_utc), 0)
        from raw.tool_results as r
        where t.org_id = r.org_id and t.tool_call_key = r.tool_call_key and t.success is null
          and (r.tool_call_key in (select tool_call_key from stage_tool_results)
               or r.tool_call_key in (select tool_call_key from stage_tool_calls))
        """
    )
