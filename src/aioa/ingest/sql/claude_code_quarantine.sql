-- Lines that cannot be loaded (rejected) and loaded rows that need attention (flagged).
-- The rejected lines (usually none) are listed first; their excerpts are then fetched from batch_lines with a semi
-- join on that short list. Joining batch_lines directly made DuckDB build a hash table of every line's text
-- (two joins: ~0.3 CPU-s per 64 MB batch, with nothing rejected).
create or replace temp table cc_rejected as
select file_idx, line_no, cast(null as varchar) as problem from cc_records where not is_valid_json
union all
select file_idx, line_no, array_to_string(problems, '; ') from cc_checked where len(problems) > 0;

create or replace temp table stage_quarantine as
with excerpts as (
    select file_idx, line_no, text from batch_lines semi join cc_rejected using (file_idx, line_no)
)
select
    'claude_code' as source_system, files.path as source_file, line_no as source_line,
    'rejected' as severity,
    case when rejected.problem is not null then rejected.problem
         when files.truncated_tail and line_no = files.last_line_no
         then 'truncated line at end of file (no newline, not valid JSON)'
         when json_valid(lines.text) then 'not a JSON object (one record per line expected)'
         else 'malformed JSON' end as reason,
    left(lines.text, 500) as raw_excerpt
from cc_rejected as rejected join batch_files as files using (file_idx)
join excerpts as lines using (file_idx, line_no)
union all
select
    'claude_code', files.path, line_no, 'flagged',
    'unknown usage fields: ' || array_to_string(unknown_usage_keys, ', '),
    left(usage_json, 500)
from cc_checked join batch_files as files using (file_idx)
where len(problems) = 0 and len(unknown_usage_keys) > 0
union all
select
    'claude_code', files.path, line_no, 'flagged',
    'cache_creation split (' || split_5m_tokens || ' + ' || split_1h_tokens
        || ') differs from cache_creation_input_tokens (' || cache_creation_tokens || ')',
    left(usage_json, 500)
from cc_checked join batch_files as files using (file_idx)
where len(problems) = 0 and split_1h_tokens is not null and split_5m_tokens is not null
  and split_5m_tokens + split_1h_tokens <> cache_creation_tokens;

drop table cc_rejected;
