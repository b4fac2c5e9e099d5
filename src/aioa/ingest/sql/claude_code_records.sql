-- Parse every line of the batch once into the fields we use (from_json parses each line a single time).
-- Only the parsed struct is kept: copying 500-byte excerpts of every line cost more than the parse itself, so
-- quarantine takes its excerpts from batch_lines for the few lines it rejects.
create or replace temp table cc_records as
with parsed as (
    -- a record is a JSON object: DuckDB also accepts scalars such as INF or "x", which are not records
    -- CASE, not OR: DuckDB may evaluate either side of an OR first, and trimming copies every (large) line
    select file_idx, line_no, text,
           json_valid(text) and case when starts_with(text, '{') then true
                                     else starts_with(ltrim(text, json_whitespace()), '{') end as is_valid_json
    from batch_lines
),
lines as (
    -- blank lines are skipped; the trim runs only on the (rare) lines that are not valid JSON (CASE keeps that
    -- order: with `or`, the optimizer put the trim first and copied every line, 3x the cost of parsing them)
    select * from parsed
    where case when is_valid_json then true else length(trim(text, json_whitespace())) > 0 end
)
select
    file_idx,
    line_no,
    is_valid_json,
    case when is_valid_json then from_json(text, '{
        "type": "VARCHAR", "sessionId": "VARCHAR", "uuid": "VARCHAR", "timestamp": "VARCHAR",
        "cwd": "VARCHAR", "gitBranch": "VARCHAR", "version": "VARCHAR", "agentId": "VARCHAR",
        "requestId": "VARCHAR", "isApiErrorMessage": "BOOLEAN",
        "message": {"id": "VARCHAR", "model": "VARCHAR", "role": "VARCHAR", "usage": "JSON",
                    "content": [{"type": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR", "text": "VARCHAR",
                                 "tool_use_id": "VARCHAR", "is_error": "BOOLEAN", "content": "VARCHAR",
                                 "input": {"subagent_type": "VARCHAR"}}]},
        "data": {"type": "VARCHAR", "agentId": "VARCHAR",
                 "message": {"type": "VARCHAR", "timestamp": "VARCHAR", "requestId": "VARCHAR",
                             "message": {"id": "VARCHAR", "model": "VARCHAR", "usage": "JSON",
                                         "content": [{"type": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR",
                                                      "text": "VARCHAR", "tool_use_id": "VARCHAR",
                                                      "is_error": "BOOLEAN", "content": "VARCHAR",
                                                      "input": {"subagent_type": "VARCHAR"}}]}}}
    }') end as record
from lines;
