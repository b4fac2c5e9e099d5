-- Shared SQL macros of the ingest layer.
-- JSON's insignificant whitespace (space, tab, newline, carriage return), for trimming log lines.
create or replace temp macro json_whitespace() as ' ' || chr(9) || chr(10) || chr(13);
-- MCP tool names: mcp__<server>__<tool> and mcp__plugin_<plugin>_<server>__<tool>.
create or replace temp macro mcp_middle(name) as
    case when starts_with(name, 'mcp__') and strpos(substr(name, 6), '__') > 0
         then substr(name, 6, strpos(substr(name, 6), '__') - 1) end;
-- {server, tool, plugin} of a tool name (NULLs for other tools). A plugin's server is usually named like the plugin
-- (`context7_context7`); otherwise split at the first `_`. Each part is computed once and bound by a lambda: macros
-- calling macros repeated them hundreds of times over, and DuckDB took ~25 ms to plan each statement using them.
create or replace temp macro mcp_names(name) as
    list_transform([mcp_middle(name)], lambda middle:
        list_transform([case when starts_with(middle, 'plugin_') then substr(middle, 8) end], lambda part:
            list_transform([
                case when part is null then null
                     when length(part) % 2 = 1 and left(part, length(part) // 2) = right(part, length(part) // 2)
                          and substr(part, length(part) // 2 + 1, 1) = '_'
                          then left(part, length(part) // 2)
                     else split_part(part, '_', 1) end
            ], lambda plugin: {
                'server': case when part is null then middle
                               when length(part) > length(plugin) then substr(part, length(plugin) + 2)
                               else plugin end,
                'tool': case when middle is not null then substr(name, 6 + length(middle) + 2) end,
                'plugin': plugin
            })[1]
        )[1]
    )[1];
-- Prompt and task text as AIOA_STORE_TEXT keeps it: full, redacted (length and hash: joinable, not readable) or none.
create or replace temp macro stored_text(text, mode) as
    case when text is null or mode = 'full' then text
         when mode = 'redacted' then '[redacted: ' || length(text) || ' chars, sha256 ' || left(sha256(text), 16) || ']'
    end;
