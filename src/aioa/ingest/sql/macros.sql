-- Shared SQL macros of the ingest layer.
-- JSON's insignificant whitespace (space, tab, newline, carriage return), for trimming log lines.
create or replace temp macro json_whitespace() as ' ' || chr(9) || chr(10) || chr(13);
-- MCP tool names: mcp__<server>__<tool> and mcp__plugin_<plugin>_<server>__<tool>.
create or replace temp macro mcp_middle(name) as
    case when starts_with(name, 'mcp__') and strpos(substr(name, 6), '__') > 0
         then substr(name, 6, strpos(substr(name, 6), '__') - 1) end;
create or replace temp macro mcp_tool(name) as
    case when mcp_middle(name) is not null then substr(name, 6 + length(mcp_middle(name)) + 2) end;
create or replace temp macro mcp_plugin_part(name) as
    case when starts_with(mcp_middle(name), 'plugin_') then substr(mcp_middle(name), 8) end;
-- A plugin's server is usually named like the plugin (`context7_context7`); otherwise split at the first `_`.
create or replace temp macro mcp_plugin(name) as
    case when mcp_plugin_part(name) is null then null
         when length(mcp_plugin_part(name)) % 2 = 1
              and left(mcp_plugin_part(name), length(mcp_plugin_part(name)) // 2)
                  = right(mcp_plugin_part(name), length(mcp_plugin_part(name)) // 2)
              and substr(mcp_plugin_part(name), length(mcp_plugin_part(name)) // 2 + 1, 1) = '_'
              then left(mcp_plugin_part(name), length(mcp_plugin_part(name)) // 2)
         else split_part(mcp_plugin_part(name), '_', 1) end;
create or replace temp macro mcp_server(name) as
    case when mcp_plugin_part(name) is null then mcp_middle(name)
         when length(mcp_plugin_part(name)) > length(mcp_plugin(name))
              then substr(mcp_plugin_part(name), length(mcp_plugin(name)) + 2)
         else mcp_plugin(name) end;
-- Prompt and task text as AIOA_STORE_TEXT keeps it: full, redacted (length and hash: joinable, not readable) or none.
create or replace temp macro stored_text(text, mode) as
    case when text is null or mode = 'full' then text
         when mode = 'redacted' then '[redacted: ' || length(text) || ' chars, sha256 ' || left(sha256(text), 16) || ']'
    end;
