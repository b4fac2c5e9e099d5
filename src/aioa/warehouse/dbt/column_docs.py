"""One description per column name across every dbt model (raw column meanings come from the contracts)."""

from __future__ import annotations

from aioa.contracts import ALL_CONTRACTS

MART_COLUMNS: dict[str, str] = {
    "is_error": "True when the response was an error (status = 'error'); errors are not billed.",
    "loaded_at": "When the ingest run that loaded (or last updated) the row started, UTC.",
    "last_loaded_at": "Latest load time of the rows behind this aggregate row, UTC (drives incremental builds).",
    "copy_rank": "1 for the copy kept when a key was loaded more than once.",
    "session_key": "Logged session id, or a gap-based session (`gap:org:user:project:n`) when the log has none.",
    "project_group": "Product the project rolls up to (several repositories → one group); the project id if none.",
    "day": "UTC calendar day.",
    "hour": "UTC hour (timestamp truncated to the hour).",
    "cache_write_tokens": "Tokens written to the prompt cache (5-minute plus 1-hour writes).",
    "total_tokens": "All tokens: input + output + cache writes + cache reads.",
    "alternatives_json": "Known outcomes of other models on the same task, as JSON text.",
    "savings_usd": "Target's tokens priced at the orchestrator model's list price minus what the target cost; "
                   "0 when the orchestrator did the task; NULL when a price or cost is unknown.",
    "attributed_tokens": "Share of the calling response's tokens: its total tokens divided by the tools it called.",
    "usage_key": "Surrogate key: md5 of the grouping columns (NULLs included).",
    "calls": "Number of billed model responses.",
    "error_calls": "Responses with status 'error'.",
    "unpriced_calls": "Responses of models with no known price (cost NULL, flagged for an override).",
    "sessions": "Distinct sessions with at least one call in the group.",
    "latency_ms_sum": "Sum of latency over calls that logged one (divide by latency_calls for the mean).",
    "latency_calls": "Calls that logged a latency.",
    "failures": "Tool calls whose result was an error.",
    "calls_with_result": "Tool calls whose result was logged (success known).",
    "duration_ms_sum": "Sum of tool durations where logged (divide by calls_with_duration for the mean).",
    "calls_with_duration": "Tool calls with a logged duration.",
    "org_name": "Display name of the org.",
    "team_name": "Display name of the team.",
    "user_name": "Display name of the user.",
    "project_name": "Display name of the project.",
    "is_configured": "True when the entity is in the attribution config; false when only seen in the logs.",
    "first_active_day": "First day with a billed call for the project.",
    "last_active_day": "Last day with a billed call for the project.",
    "lifetime_cost_usd": "All-time spend of the project in USD (priced calls only).",
    "lifetime_tokens": "All-time tokens of the project.",
    "started_at": "First call of the session (or start of the ingest run), UTC.",
    "ended_at": "Last call of the session, UTC.",
    "finished_at": "When the ingest run finished, UTC.",
    "duration_minutes": "Minutes from the session's first to its last call.",
    "subagent_calls": "Calls made by subagents in the session.",
    "subagents": "Distinct subagents that made calls in the session.",
    "models_used": "Distinct models called in the session.",
    "tool_calls": "Tool invocations in the session.",
    "mcp_tool_calls": "MCP tool invocations in the session.",
    "errors": "Error responses in the session.",
    "matched_model": "Model name the price library matched.",
    "priced": "True when the price library or an override knows the model's price.",
    "input_mtok": "Input price, USD per million tokens.",
    "output_mtok": "Output price, USD per million tokens.",
    "cache_read_mtok": "Cache-read price, USD per million tokens.",
    "cache_write_5m_mtok": "5-minute cache-write price, USD per million tokens.",
    "cache_write_1h_mtok": "1-hour cache-write price, USD per million tokens.",
    "input_price_per_mtok": "Input price, USD per million tokens (base tier).",
    "output_price_per_mtok": "Output price, USD per million tokens (base tier).",
    "cache_read_price_per_mtok": "Cache-read price, USD per million tokens.",
    "cache_write_5m_price_per_mtok": "5-minute cache-write price, USD per million tokens.",
    "cache_write_1h_price_per_mtok": "1-hour cache-write price, USD per million tokens.",
    "has_tiers": "True when the price changes above a context-length threshold (long-context tiers).",
    "time_dependent": "True when the price depends on the time of day (e.g. off-peak discounts).",
    "provider_rank": "1 for the price row kept per model (the one naming a provider).",
    "first_seen_day": "First day the model was called.",
    "last_seen_day": "Last day the model was called.",
    "rows_added": "Rows the run added.",
    "rows_updated": "Rows the run updated with a more complete snapshot.",
    "quarantined": "Input lines the run rejected.",
    "flagged": "Rows the run loaded but flagged for attention.",
    "date_day": "A calendar day (time spine).",
}


def column_description(name: str) -> str | None:
    if name in MART_COLUMNS:
        return MART_COLUMNS[name]
    for contract in ALL_CONTRACTS:
        for column in contract.columns:
            if column.name == name:
                return column.description
    return None
