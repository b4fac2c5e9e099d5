"""Handoff event logs: the `aioa.handoff/1` contract, and the first version's tracking log (session/handoff/subagent)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from aioa.ingest.sources import DiscoveredFile, Source, find_files
from aioa.warehouse.sql import execute_script

SCHEMA_V1 = "aioa.handoff/1"
# The v1 input contract: field -> JSON kind. Required fields are marked with `!`.
V1_FIELDS = {
    "schema": "string!",
    "handoff_id": "string!",
    "ts": "timestamp!",
    "task_id": "string!",
    "target_model": "string!",
    "org_id": "string",
    "team_id": "string",
    "user_id": "string",
    "project_id": "string",
    "cwd": "string",
    "session_id": "string",
    "task_text": "string",
    "task_type": "string",
    "orchestrator_model": "string",
    "provider": "string",
    "reason": "string",
    "router_version": "string",
    "predicted_route": "string",
    "router_confidence": "probability",
    "propensity": "probability",
    "success": "boolean",
    "quality_score": "probability",
    "error": "string",
    "input_tokens": "count",
    "output_tokens": "count",
    "cost_usd": "money",
    "latency_ms": "count",
    "alternatives": "array",
}
LEGACY_FIELDS = (
    "event",
    "session_id",
    "timestamp",
    "project",
    "user",
    "task",
    "task_type",
    "from_model",
    "to_model",
    "reason",
    "confidence",
    "success",
    "tokens",
    "cost",
    "duration_ms",
    "agent_type",
    "model",
)

_KIND_CHECK = {
    "string": "json_type({v}) = 'VARCHAR'",
    "timestamp": "json_type({v}) = 'VARCHAR' and try_cast({v} ->> '$' as timestamptz) is not null",
    "boolean": "json_type({v}) = 'BOOLEAN'",
    "count": "json_type({v}) in ('UBIGINT', 'BIGINT') and ({v})::bigint >= 0",
    "money": "json_type({v}) in ('UBIGINT', 'BIGINT', 'DOUBLE') and ({v})::double >= 0",
    "probability": "json_type({v}) in ('UBIGINT', 'BIGINT', 'DOUBLE') and ({v})::double between 0 and 1",
    "array": "json_type({v}) = 'ARRAY'",
}


def _checks_sql() -> str:
    """One problem expression per v1 field, generated from V1_FIELDS."""
    checks = []
    for name, kind in V1_FIELDS.items():
        required = kind.endswith("!")
        value = f"fields.{name}"
        valid = _KIND_CHECK[kind.rstrip("!")].format(v=value)
        missing = f"{value} is null or json_type({value}) = 'NULL'"
        if required:
            checks.append(
                f"case when {missing} then 'missing {name}' when not ({valid}) "
                f"then 'wrong type for {name}: ' || left({value}::varchar, 60) end"
            )
        else:
            checks.append(
                f"case when not ({missing}) and not ({valid}) "
                f"then 'wrong type for {name}: ' || left({value}::varchar, 60) end"
            )
    return "list_filter([" + ",\n        ".join(checks) + "], lambda problem: problem is not null)"


def _structure(fields) -> str:
    return "{" + ", ".join(f'"{name}": "JSON"' for name in fields) + "}"


class HandoffLogSource(Source):
    name = "handoff_log"
    tables = ("handoffs",)

    def discover(self, paths: list[Path]) -> list[DiscoveredFile]:
        return find_files(paths, ("**/*.jsonl",))

    def stage(self, connection: duckdb.DuckDBPyConnection) -> None:
        known_v1 = ", ".join(f"'{name}'" for name in V1_FIELDS)
        execute_script(
            connection,
            f"""
            create or replace temp table ho_lines as
            select file_idx, line_no, text, json_valid(text) as is_valid_json
            from batch_lines
            where length(trim(text, json_whitespace())) > 0;

            create or replace temp table ho_v1 as
            select file_idx, line_no, text,
                   from_json(text, '{_structure(V1_FIELDS)}') as fields,
                   list_filter(json_keys(text), lambda key: key not in ({known_v1})) as unknown_keys
            from ho_lines
            where is_valid_json and json_type(text) = 'OBJECT' and (text ->> '$.schema') = '{SCHEMA_V1}';

            create or replace temp table ho_v1_checked as
            select *, {_checks_sql()} as problems from ho_v1;

            create or replace temp table ho_legacy as
            select file_idx, line_no, text, from_json(text, '{_structure(LEGACY_FIELDS)}') as fields,
                   text ->> '$.event' as event
            from ho_lines
            where is_valid_json and json_type(text) = 'OBJECT' and json_exists(text, '$.event');
        """,
        )
        execute_script(connection, _STAGE_SQL)


# `->>` is parenthesised wherever another operator follows: DuckDB 1.5 binds it looser than `=`, `and` and `or`.
_STAGE_SQL = """
create or replace temp table ho_legacy_sessions as
select fields.session_id ->> '$' as session_id,
       any_value(fields.project ->> '$') as project, any_value(fields.user ->> '$') as user_name
from ho_legacy where event = 'session' group by 1;

create or replace temp table stage_handoffs as
select
    fields.handoff_id ->> '$' as handoff_id,
    cast(null as varchar) as org_id, cast(null as varchar) as team_id,
    cast(null as varchar) as user_id, cast(null as varchar) as project_id,
    fields.session_id ->> '$' as session_id,
    (fields.ts ->> '$')::timestamptz::timestamp as ts_utc,
    fields.task_id ->> '$' as task_id,
    fields.task_text ->> '$' as task_text,
    fields.task_type ->> '$' as task_type,
    fields.orchestrator_model ->> '$' as orchestrator_model,
    fields.target_model ->> '$' as target_model,
    fields.reason ->> '$' as reason,
    fields.router_version ->> '$' as router_version,
    fields.predicted_route ->> '$' as predicted_route,
    (fields.router_confidence)::double as router_confidence,
    (fields.propensity)::double as propensity,
    (fields.success)::boolean as success,
    (fields.quality_score)::double as quality_score,
    true as outcome_verified,
    fields.error ->> '$' as error,
    (fields.input_tokens)::bigint as input_tokens,
    (fields.output_tokens)::bigint as output_tokens,
    (fields.cost_usd)::double::decimal(20, 10) as cost_usd,
    (fields.latency_ms)::bigint as latency_ms,
    coalesce(fields.alternatives, '[]')::json as alternatives,
    'handoff_log' as source_system, files.path as source_file, line_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id, getvariable('contract_version') as contract_version,
    cast(null as varchar) as hint_config_dir,
    fields.user_id ->> '$' as hint_user,
    fields.org_id ->> '$' as hint_org,
    fields.project_id ->> '$' as hint_project,
    cast(null as varchar) as hint_host,
    fields.cwd ->> '$' as cwd
from ho_v1_checked join batch_files as files using (file_idx)
where len(problems) = 0
union all by name
-- The first version stored every handoff as a success without measuring it: the outcome is unknown.
select
    'legacy:' || sha256(concat_ws('|', fields.session_id ->> '$', fields.timestamp ->> '$', fields.task ->> '$'))
        as handoff_id,
    cast(null as varchar) as org_id, cast(null as varchar) as team_id,
    cast(null as varchar) as user_id, cast(null as varchar) as project_id,
    fields.session_id ->> '$' as session_id,
    try_cast(fields.timestamp ->> '$' as timestamptz)::timestamp as ts_utc,
    'legacy:' || sha256(concat_ws('|', fields.session_id ->> '$', fields.timestamp ->> '$', fields.task ->> '$'))
        as task_id,
    fields.task ->> '$' as task_text,
    fields.task_type ->> '$' as task_type,
    fields.from_model ->> '$' as orchestrator_model,
    fields.to_model ->> '$' as target_model,
    fields.reason ->> '$' as reason,
    'legacy-keyword-heuristic' as router_version,
    cast(null as varchar) as predicted_route,
    try_cast(fields.confidence as double) as router_confidence,
    cast(null as double) as propensity,
    cast(null as boolean) as success,
    cast(null as double) as quality_score,
    false as outcome_verified,
    cast(null as varchar) as error,
    -- the first version logged one `tokens` total without a split: kept as output tokens of the target
    cast(null as bigint) as input_tokens,
    try_cast(fields.tokens as bigint) as output_tokens,
    try_cast(fields.cost as double)::decimal(20, 10) as cost_usd,
    try_cast(fields.duration_ms as bigint) as latency_ms,
    '[]'::json as alternatives,
    'handoff_log' as source_system, files.path as source_file, line_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id, getvariable('contract_version') as contract_version,
    cast(null as varchar) as hint_config_dir,
    sessions.user_name as hint_user, cast(null as varchar) as hint_org, sessions.project as hint_project,
    cast(null as varchar) as hint_host, cast(null as varchar) as cwd
from ho_legacy join batch_files as files using (file_idx)
left join ho_legacy_sessions as sessions on sessions.session_id = (ho_legacy.fields.session_id ->> '$')
where event = 'handoff'
  and try_cast(fields.timestamp ->> '$' as timestamptz) is not null
  and fields.to_model is not null;

create or replace temp table stage_quarantine as
select 'handoff_log' as source_system, files.path as source_file, line_no as source_line,
       'rejected' as severity, 'malformed JSON' as reason, left(text, 500) as raw_excerpt
from ho_lines join batch_files as files using (file_idx) where not is_valid_json
union all
select 'handoff_log', files.path, line_no, 'rejected', array_to_string(problems, '; '), left(text, 500)
from ho_v1_checked join batch_files as files using (file_idx) where len(problems) > 0
union all
select 'handoff_log', files.path, line_no, 'flagged', 'unknown fields: ' || array_to_string(unknown_keys, ', '),
       left(text, 500)
from ho_v1_checked join batch_files as files using (file_idx) where len(problems) = 0 and len(unknown_keys) > 0
union all
select 'handoff_log', files.path, ho_lines.line_no, 'rejected',
       case when not json_valid(ho_lines.text) then 'malformed JSON'
            when json_type(ho_lines.text) <> 'OBJECT' then 'not a JSON object'
            else 'neither aioa.handoff/1 nor a legacy tracking event' end,
       left(ho_lines.text, 500)
from ho_lines join batch_files as files using (file_idx)
where ho_lines.is_valid_json
  and not (json_type(ho_lines.text) = 'OBJECT'
           and ((ho_lines.text ->> '$.schema') = 'aioa.handoff/1' or json_exists(ho_lines.text, '$.event')))
union all
select 'handoff_log', files.path, line_no, 'rejected',
       'legacy handoff without a valid timestamp or to_model', left(text, 500)
from ho_legacy join batch_files as files using (file_idx)
where event = 'handoff'
  and (try_cast(fields.timestamp ->> '$' as timestamptz) is null or fields.to_model is null);
"""
