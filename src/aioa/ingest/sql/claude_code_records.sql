-- Parse every line of the batch once into the fields we use (from_json parses each line a single time).
create or replace temp table cc_records as
with lines as (
    select file_idx, line_no, text
    from batch_lines
    where length(trim(text, ' '||chr(9)||chr(10)||chr(13))) > 0
),
parsed as (
    select
        file_idx,
        line_no,
        text,
        json_valid(text) as is_valid_json
    from lines
)
select
    file_idx,
    line_no,
    left(text, 500) as excerpt,  -- the whole line is not kept: only quarantine shows it
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
from parsed;
