"""Storing a batch's quarantined lines with the tenant they belong to, so each org sees only its own excerpts.

The org of a quarantined line is known when the batch staged a row from that very line (a flagged row was loaded,
or its key collided: it was attributed like any other row), or when the whole file belongs to one org: the source
found it under a per-user root (a Claude config dir) and every row read from it in this batch went to that org.
Otherwise (a line that did not parse, in a file that mixes orgs or loaded nothing) the org stays NULL: only
operators (`TenantScope.all_orgs()`) see that line.
"""

from __future__ import annotations

import duckdb

_LINE_AND_FILE_ORGS = """
insert into raw.quarantine
    (ingest_run_id, source_system, source_file, source_line, severity, reason, raw_excerpt, org_id)
with staged_rows as ({staged_rows}),
line_orgs as (
    select source_file, source_line, min(org_id) as org_id
    from staged_rows
    group by source_file, source_line
    having count(distinct org_id) = 1
),
file_orgs as (
    select staged_rows.source_file, min(staged_rows.org_id) as org_id
    from staged_rows
    join batch_files on batch_files.path = staged_rows.source_file and batch_files.config_dir is not null
    group by staged_rows.source_file
    having count(distinct staged_rows.org_id) = 1
)
select getvariable('ingest_run_id'), q.source_system, q.source_file, q.source_line, q.severity, q.reason,
       q.raw_excerpt, coalesce(line_orgs.org_id, file_orgs.org_id)
from stage_quarantine as q
left join line_orgs on line_orgs.source_file = q.source_file and line_orgs.source_line = q.source_line
left join file_orgs on file_orgs.source_file = q.source_file
"""


def store_quarantine(connection: duckdb.DuckDBPyConnection, staged_tables: tuple[str, ...] | list[str]) -> None:
    """Insert `stage_quarantine` into `raw.quarantine` with each line's org where known (inside the batch's
    transaction; `batch_files` and the `stage_<table>` tables of the batch must exist)."""
    existing = {
        name for (name,) in connection.execute("select table_name from duckdb_tables() where temporary").fetchall()
    }
    parts = [
        f"select source_file, source_line, org_id from stage_{table} where org_id is not null"
        for table in staged_tables
        if f"stage_{table}" in existing
    ]  # table names come from the source's code
    staged_rows = " union all ".join(parts) or (
        "select null::varchar as source_file, null::bigint as source_line, null::varchar as org_id where false"
    )
    connection.execute(_LINE_AND_FILE_ORGS.format(staged_rows=staged_rows))
