"""Routing-outcome datasets in the RouteLLM evaluation format: `prompt`, then one correctness column per model.

Each prompt becomes one handoff to the cheap model with the other models' outcomes as alternatives, so both
outcomes are known (evaluation data). By RouteLLM's convention the first model column is the weak (cheap) model.
The rows get the file's modification time as their timestamp: the datasets carry none.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from aioa.ingest.sources import DiscoveredFile, Source, find_files

TRUE_VALUES = ("true", "1", "yes")
FALSE_VALUES = ("false", "0", "no")


class RoutingOutcomesSource(Source):
    name = "routing_outcomes"
    tables = ("handoffs",)
    whole_files = True  # prompts span lines inside quotes: CSV files are re-read whole when they change

    def __init__(self, cheap_model: str | None = None) -> None:
        self.cheap_model = cheap_model

    def discover(self, paths: list[Path]) -> list[DiscoveredFile]:
        return find_files(paths, ("**/*.csv",))

    def stage(self, connection: duckdb.DuckDBPyConnection) -> None:
        parts = []
        files = connection.execute("select file_idx, path from batch_files order by file_idx").fetchall()
        for file_idx, path in files:
            parts.append(self._file_sql(connection, file_idx, path))
        if not parts:
            parts.append("select * from (select null::int as file_idx, null::bigint as record_no, null::varchar as "
                         "prompt, null::varchar as cheap_model, null::varchar as cheap_outcome, "
                         "null::varchar as alternatives_raw, null::varchar as bad_value, "
                         "null::timestamp as file_ts) where false")
        connection.execute("create or replace temp table ro_rows as " + " union all ".join(parts))
        connection.execute(_STAGE_SQL)

    def _file_sql(self, connection, file_idx: int, path: str) -> str:
        columns = [row[0] for row in connection.execute(
            "describe select * from read_csv(?, header = true, all_varchar = true)", [path]).fetchall()]
        quoted = path.replace("'", "''")
        models = [column for column in columns if column != "prompt"]
        cheap = self.cheap_model if self.cheap_model in models else models[0]
        others = [model for model in models if model != cheap]

        def column(name: str) -> str:
            return '"' + name.replace('"', '""') + '"'

        alternatives = "list_value(" + ", ".join(
            f"struct_pack(model := '{model}', outcome := lower(trim({column(model)})))" for model in others) + ")"
        bad = " or ".join(f"lower(trim(coalesce({column(model)}, ''))) not in {TRUE_VALUES + FALSE_VALUES}"
                          for model in models)
        first_bad = "coalesce(" + ", ".join(
            f"case when lower(trim(coalesce({column(model)}, ''))) not in {TRUE_VALUES + FALSE_VALUES} "
            f"then '{model}=' || coalesce({column(model)}, 'null') end" for model in models) + ")"
        mtime = int(Path(path).stat().st_mtime)
        return (
            f"select {file_idx}::int as file_idx, row_number() over () + 1 as record_no, prompt, "
            f"'{cheap}' as cheap_model, lower(trim({column(cheap)})) as cheap_outcome, "
            f"to_json({alternatives})::varchar as alternatives_raw, "
            f"case when {bad} then {first_bad} end as bad_value, "
            f"make_timestamp({mtime}::bigint * 1000000) as file_ts "
            f"from read_csv('{quoted}', header = true, all_varchar = true)"
        )


_STAGE_SQL = f"""
create or replace temp table stage_handoffs as
select
    'routing:' || regexp_extract(files.path, '([^/]+)\\.csv$', 1) || ':' || left(sha256(prompt), 16) as handoff_id,
    cast(null as varchar) as org_id, cast(null as varchar) as team_id,
    cast(null as varchar) as user_id, cast(null as varchar) as project_id,
    cast(null as varchar) as session_id,
    file_ts as ts_utc,
    'routing:' || regexp_extract(files.path, '([^/]+)\\.csv$', 1) || ':' || left(sha256(prompt), 16) as task_id,
    prompt as task_text,
    regexp_extract(files.path, '([^/]+)\\.csv$', 1) as task_type,
    cast(null as varchar) as orchestrator_model,
    cheap_model as target_model,
    'evaluation dataset' as reason,
    cast(null as varchar) as router_version, cast(null as varchar) as predicted_route,
    cast(null as double) as router_confidence, cast(null as double) as propensity,
    cheap_outcome in {TRUE_VALUES} as success,
    case when cheap_outcome in {TRUE_VALUES} then 1.0 else 0.0 end as quality_score,
    true as outcome_verified,
    cast(null as varchar) as error,
    cast(null as bigint) as input_tokens, cast(null as bigint) as output_tokens,
    cast(null as decimal(20, 10)) as cost_usd, cast(null as bigint) as latency_ms,
    (select to_json(list(struct_pack(model := alternative.model,
                                     success := alternative.outcome in {TRUE_VALUES},
                                     quality_score := case when alternative.outcome in {TRUE_VALUES}
                                                           then 1.0 else 0.0 end)))
     from (select unnest(from_json(alternatives_raw, '[{{"model": "VARCHAR", "outcome": "VARCHAR"}}]'))
           as alternative)) as alternatives,
    'routing_outcomes' as source_system, files.path as source_file, record_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id, getvariable('contract_version') as contract_version,
    cast(null as varchar) as hint_config_dir, cast(null as varchar) as hint_user,
    cast(null as varchar) as hint_org,
    regexp_extract(files.path, '([^/]+)/[^/]+\\.csv$', 1) as hint_project,
    cast(null as varchar) as hint_host, cast(null as varchar) as cwd
from ro_rows join batch_files as files using (file_idx)
where bad_value is null and prompt is not null;

create or replace temp table stage_quarantine as
select 'routing_outcomes' as source_system, files.path as source_file, record_no as source_line,
       'rejected' as severity,
       case when prompt is null then 'missing prompt' else 'not a boolean outcome: ' || bad_value end as reason,
       left(prompt, 300) as raw_excerpt
from ro_rows join batch_files as files using (file_idx)
where bad_value is not null or prompt is null;
"""
