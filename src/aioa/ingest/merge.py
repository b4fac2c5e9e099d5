"""Merging a staged batch into the raw tables: de-duplicate on the source's own ids, keep the most complete row."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from aioa.contracts import HANDOFF, LLM_CALL, TOOL_CALL, Contract


@dataclass(frozen=True)
class MergeRule:
    contract: Contract
    # Order that puts the most complete snapshot of a key first.
    completeness: str
    # SQL condition (staged `s`, stored `t`) under which a staged row replaces the stored one; None: never.
    replaces_when: str | None
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
        most_complete="(coalesce(output_tokens, -1), coalesce(input_tokens + cache_write_5m_tokens"
        " + cache_write_1h_tokens + cache_read_tokens, -1), coalesce(ts_utc, '-infinity'::timestamp),"
        " coalesce(source_file, ''), coalesce(source_line, -1))",
    ),
    TOOL_CALL.table: MergeRule(TOOL_CALL, completeness="ts_utc asc, source_line asc", replaces_when=None),
    HANDOFF.table: MergeRule(HANDOFF, completeness="source_file desc, source_line desc", replaces_when=None),
}


@dataclass
class MergeCounts:
    staged: int = 0
    added: int = 0
    updated: int = 0

    @property
    def duplicates(self) -> int:
        return self.staged - self.added - self.updated


def merge_staged(connection: duckdb.DuckDBPyConnection, table: str) -> MergeCounts:
    """Merge temp table `stage_<table>` into `raw.<table>` (inside the caller's transaction).

    Wide rows are copied once (into the raw table): the batch is de-duplicated by picking the winning stage rowid of
    each key, and the large, growing raw table is scanned once per batch to find which keys it already holds.
    """
    rule = MERGE_RULES[table]
    key = rule.contract.key[0]
    columns = ", ".join(rule.contract.column_names)
    staged = connection.execute(f"select count(*) from stage_{table}").fetchone()[0]
    if rule.most_complete:
        winners = f"select {key}, arg_max(rowid, {rule.most_complete}) as stage_rowid from stage_{table} group by {key}"
    else:
        winners = (f"select {key}, rowid as stage_rowid from stage_{table} "
                   f"qualify row_number() over (partition by {key} order by {rule.completeness}) = 1")
    connection.execute(f"create or replace temp table merge_winners as {winners}")
    stored = connection.execute(
        f"create or replace temp table merge_stored as select {key} from raw.{table} "
        f"where {key} in (select {key} from merge_winners)"
    ).fetchone()[0]
    updated = 0
    if rule.replaces_when and stored:
        assignments = ", ".join(f"{name} = s.{name}" for name in rule.contract.column_names if name != key)
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
    connection.execute("drop table merge_winners")
    connection.execute("drop table merge_stored")
    return MergeCounts(staged=staged, added=added, updated=updated)


def apply_tool_results(connection: duckdb.DuckDBPyConnection) -> None:
    """Keep tool results (which may arrive in a later batch than their call) and complete the calls they answer."""
    connection.execute(
        """
        insert into raw.tool_results
        select s.* from stage_tool_results as s
        where not exists (select 1 from raw.tool_results as r where r.tool_call_key = s.tool_call_key)
        """
    )
    connection.execute(
        """
        update raw.tool_calls as t set
            success = r.success,
            error = r.error,
            duration_ms = greatest(datediff('millisecond', t.ts_utc, r.result_ts_utc), 0)
        from raw.tool_results as r
        where t.tool_call_key = r.tool_call_key and t.success is null
          and (r.tool_call_key in (select tool_call_key from stage_tool_results)
               or r.tool_call_key in (select tool_call_key from stage_tool_calls))
        """
    )
