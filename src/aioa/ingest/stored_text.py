"""How much prompt and task text ingest keeps (`AIOA_STORE_TEXT`): `full`, `redacted` or `none`.

Applied to the staged batch before it is merged, set-based with the `stored_text` SQL macro (macros.sql) and the
mode in the connection's `store_text` variable: `redacted` keeps the length and a hash prefix (the same text still
gives the same value), `none` stores NULL. Tokens, costs and every other column are untouched. The stored columns:
`raw.handoffs.task_text` (handoff logs, routing-outcome prompts) and `raw.quarantine.raw_excerpt` (the start of a
rejected log line, which can hold a prompt).
"""

from __future__ import annotations

import duckdb

REDACTED_PREFIX = "[redacted: "  # what `stored_text` writes in `redacted` mode (macros.sql)


def set_store_text(connection: duckdb.DuckDBPyConnection, mode: str) -> None:
    """Make `mode` the connection's text policy for the next batches."""
    connection.execute("set variable store_text = ?", [mode])


def limit_staged_text(connection: duckdb.DuckDBPyConnection, staged_tables: tuple[str, ...] | list[str]) -> None:
    """Redact or drop the staged batch's prompt and task text as the connection's policy says."""
    if connection.execute("select getvariable('store_text') = 'full'").fetchone()[0]:
        return
    if "handoffs" in staged_tables:
        connection.execute(
            "update stage_handoffs set task_text = stored_text(task_text, getvariable('store_text')) "
            "where task_text is not null"
        )
    connection.execute(
        "update stage_quarantine set raw_excerpt = stored_text(raw_excerpt, getvariable('store_text')) "
        "where raw_excerpt is not null"
    )
