"""Routing-outcome datasets in the RouteLLM evaluation format: `prompt`, then one correctness column per model.

Each prompt becomes one handoff to the cheap model with the other models' outcomes as alternatives, so both
outcomes are known (evaluation data). By RouteLLM's convention the first model column is the weak (cheap) model.
The rows get the file's modification time as their timestamp: the datasets carry none.

The CSV header is data: a column name is a model name, whatever characters it holds. So each file is read into
Arrow with positional columns (the header is its first row) and reshaped there; header strings only ever reach
DuckDB as values in Arrow tables, never inside SQL text. A header with an empty or repeated name, or without a
`prompt` or a model column, quarantines its file with the reason.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aioa.ingest.sources import DiscoveredFile, Source, find_files

TRUE_VALUES = ("true", "1", "yes")
FALSE_VALUES = ("false", "0", "no")
PROMPT_COLUMN = "prompt"

_ALTERNATIVE = pa.struct([("model", pa.string()), ("success", pa.bool_())])
_ROWS_SCHEMA = pa.schema(
    [
        ("file_idx", pa.int32()),
        ("record_no", pa.int64()),
        ("prompt", pa.string()),
        ("cheap_model", pa.string()),
        ("success", pa.bool_()),
        ("alternatives", pa.list_(_ALTERNATIVE)),
        ("bad_value", pa.string()),  # the first `model=value` that is not a boolean outcome, else null
        ("file_ts", pa.timestamp("us")),
    ]
)
_FILE_PROBLEMS_SCHEMA = pa.schema([("file_idx", pa.int32()), ("reason", pa.string()), ("raw_excerpt", pa.string())])


class RoutingOutcomesSource(Source):
    name = "routing_outcomes"
    tables = ("handoffs",)
    whole_files = True  # prompts span lines inside quotes: CSV files are re-read whole when they change

    def __init__(self, cheap_model: str | None = None) -> None:
        self.cheap_model = cheap_model

    def discover(self, paths: list[Path]) -> list[DiscoveredFile]:
        return find_files(paths, ("**/*.csv",))

    def stage(self, connection: duckdb.DuckDBPyConnection) -> None:
        rows, problems = [], []
        files = connection.execute("select file_idx, path from batch_files order by file_idx").fetchall()
        for file_idx, path in files:
            try:
                table = _read_csv(connection, path)
            except (duckdb.Error, OSError, NotUtf8Error) as error:
                problems.append(
                    {"file_idx": file_idx, "reason": "unreadable CSV: " + _first_line(error), "raw_excerpt": None}
                )
                continue
            header = [table.column(i)[0].as_py() for i in range(table.num_columns)] if table.num_rows else []
            problem = _header_problem(header)
            if problem:
                excerpt = ",".join("" if name is None else name for name in header)[:300]
                problems.append({"file_idx": file_idx, "reason": problem, "raw_excerpt": excerpt})
                continue
            mtime = int(Path(path).stat().st_mtime)
            rows.append(self._file_rows(file_idx, header, table.slice(1), mtime))
        connection.register("routing_rows", pa.concat_tables(rows) if rows else _ROWS_SCHEMA.empty_table())
        connection.register("routing_file_problems", pa.Table.from_pylist(problems, _FILE_PROBLEMS_SCHEMA))
        try:
            connection.execute(_STAGE_HANDOFFS_SQL)
            connection.execute(_STAGE_QUARANTINE_SQL)
        finally:
            connection.unregister("routing_rows")
            connection.unregister("routing_file_problems")

    def _file_rows(self, file_idx: int, header: list[str], data: pa.Table, mtime: int) -> pa.Table:
        """One row per prompt: the cheap model's outcome, the others' as alternatives, the first bad value."""
        columns = dict(zip(header, data.columns, strict=True))
        models = [name for name in header if name != PROMPT_COLUMN]
        cheap = self.cheap_model if self.cheap_model in models else models[0]
        others = [model for model in models if model != cheap]
        outcomes = {model: pc.utf8_lower(pc.utf8_trim(columns[model], characters=" ")) for model in models}
        count = data.num_rows

        bad_value = pa.nulls(count, pa.string())
        for model in reversed(models):  # walking backwards leaves the first bad column of each row
            is_bad = pc.invert(pc.is_in(pc.fill_null(outcomes[model], ""), pa.array(TRUE_VALUES + FALSE_VALUES)))
            shown = pc.binary_join_element_wise(model + "=", pc.coalesce(columns[model], "null"), "")
            bad_value = pc.if_else(is_bad, shown, bad_value)

        def success(model: str) -> np.ndarray:
            return pc.is_in(outcomes[model], pa.array(TRUE_VALUES)).to_numpy(zero_copy_only=False)

        # Row-major: row i's alternatives are items i*k .. i*k+k-1, in column order.
        width = len(others)
        successes = np.column_stack([success(model) for model in others]).ravel() if others else []
        alternatives = pa.ListArray.from_arrays(
            pa.array(np.arange(count + 1) * width, pa.int32()),
            pa.StructArray.from_arrays(
                [
                    pa.array(np.tile(np.array(others, dtype=object), count), pa.string()),
                    pa.array(successes, pa.bool_()),
                ],
                fields=list(_ALTERNATIVE),
            ),
        )
        return pa.table(
            {
                "file_idx": pa.array(np.full(count, file_idx), pa.int32()),
                "record_no": pa.array(np.arange(2, count + 2), pa.int64()),  # line 1 is the header
                "prompt": columns[PROMPT_COLUMN],
                "cheap_model": pa.array(np.full(count, cheap, dtype=object), pa.string()),
                "success": pc.is_in(outcomes[cheap], pa.array(TRUE_VALUES)),
                "alternatives": alternatives,
                "bad_value": bad_value,
                "file_ts": pa.array(np.full(count, mtime * 1_000_000), pa.timestamp("us")),
            },
            schema=_ROWS_SCHEMA,
        )


def _read_csv(connection: duckdb.DuckDBPyConnection, path: str) -> pa.Table:
    """All cells as text with positional column names; the header is row 0.

    The file is passed as bytes so characters of its name are never read as a glob pattern. It is checked to be
    UTF-8 here first: on DuckDB 1.5 a failed read aborts the batch's transaction (there is no savepoint), which
    would then fail the whole file as "could not be loaded" instead of quarantining it with this reason.
    """
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotUtf8Error(f"not UTF-8: {error}") from error
    return connection.read_csv(io.BytesIO(data), header=False, all_varchar=True).to_arrow_table()


class NotUtf8Error(ValueError):
    """A CSV file whose bytes are not UTF-8 (DuckDB's CSV reader only reads UTF-8)."""


def _header_problem(header: list[str | None]) -> str | None:
    if not header:
        return "empty file: no header"
    for position, name in enumerate(header, start=1):
        if name is None or not name.strip():
            return f"empty column name in header (column {position})"
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return f"duplicate column name in header: {name}"
        seen.add(name)
    if PROMPT_COLUMN not in header:
        return f"no {PROMPT_COLUMN} column in header"
    if len(header) < 2:
        return "no model column in header"
    return None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


_STAGE_HANDOFFS_SQL = r"""
create or replace temp table stage_handoffs as
select
    'routing:' || regexp_extract(files.path, '([^/]+)\.csv$', 1) || ':' || left(sha256(prompt), 16) as handoff_id,
    cast(null as varchar) as org_id, cast(null as varchar) as team_id,
    cast(null as varchar) as user_id, cast(null as varchar) as project_id,
    cast(null as varchar) as session_id,
    file_ts as ts_utc,
    'routing:' || regexp_extract(files.path, '([^/]+)\.csv$', 1) || ':' || left(sha256(prompt), 16) as task_id,
    prompt as task_text,
    regexp_extract(files.path, '([^/]+)\.csv$', 1) as task_type,
    cast(null as varchar) as orchestrator_model,
    cheap_model as target_model,
    'evaluation dataset' as reason,
    cast(null as varchar) as router_version, cast(null as varchar) as predicted_route,
    cast(null as double) as router_confidence, cast(null as double) as propensity,
    success,
    case when success then 1.0 else 0.0 end as quality_score,
    true as outcome_verified,
    cast(null as varchar) as error,
    cast(null as bigint) as input_tokens, cast(null as bigint) as output_tokens,
    cast(null as decimal(20, 10)) as cost_usd, cast(null as bigint) as latency_ms,
    (select to_json(list(struct_pack(model := alternative.model,
                                     success := alternative.success,
                                     quality_score := case when alternative.success then 1.0 else 0.0 end)))
     from (select unnest(alternatives) as alternative)) as alternatives,
    'routing_outcomes' as source_system, files.path as source_file, record_no as source_line,
    getvariable('ingest_run_id') as ingest_run_id, getvariable('contract_version') as contract_version,
    cast(null as varchar) as hint_config_dir, cast(null as varchar) as hint_user,
    cast(null as varchar) as hint_org,
    regexp_extract(files.path, '([^/]+)/[^/]+\.csv$', 1) as hint_project,
    cast(null as varchar) as hint_host, cast(null as varchar) as cwd
from routing_rows join batch_files as files using (file_idx)
where bad_value is null and prompt is not null
"""

_STAGE_QUARANTINE_SQL = """
create or replace temp table stage_quarantine as
select 'routing_outcomes' as source_system, files.path as source_file, record_no as source_line,
       'rejected' as severity,
       case when prompt is null then 'missing prompt' else 'not a boolean outcome: ' || bad_value end as reason,
       left(prompt, 300) as raw_excerpt
from routing_rows join batch_files as files using (file_idx)
where bad_value is not null or prompt is null
union all
select 'routing_outcomes', files.path, 1, 'rejected', problems.reason, problems.raw_excerpt
from routing_file_problems as problems join batch_files as files using (file_idx)
"""
