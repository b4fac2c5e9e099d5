"""What the Slack and Teams bots answer: `/aioa ask QUESTION` and `/aioa cost [WHAT]`, through the Ask engine over
the rows the linked account may read (its org, and for a User or Viewer its team's and own rows), never more.
Signature checks happen in the API routes (apps/api/routes/chat.py) before anything here runs."""

from __future__ import annotations

from aioa.identity.permissions import Forbidden, check, scope_for
from aioa.identity.principal import Principal
from aioa.settings import Settings

USAGE = "Try `/aioa ask spend by project last month` or `/aioa cost by model this week`."
COMMANDS = {"ask": "ask:run", "cost": "usage:read"}  # command -> permission the account needs
MAX_ROWS = 10


def answer(settings: Settings, principal: Principal, text: str, connection) -> str:
    """The reply to the command `text` (the words after `/aioa`), for `principal`."""
    command, _, rest = text.strip().partition(" ")
    command, rest = command.lower(), rest.strip()
    if command not in COMMANDS:
        return f"I know `ask` and `cost`. {USAGE}"
    try:
        check(principal, COMMANDS[command])
    except Forbidden:
        return f"Your aioa role ({principal.role}) may not use `{command}`."
    question = rest if command == "ask" else f"cost {rest or 'this month'}"
    if not question:
        return f"Ask a question. {USAGE}"
    from aioa.ask import ask

    result = ask(question, scope_for(principal), connection=connection, settings=settings)
    if not result.answered:
        return result.reason or f"I could not answer that. {USAGE}"
    return "\n".join([result.answer or "", *_rows(result.rows)]).strip()


def _rows(rows) -> list[str]:
    if rows is None or rows.empty or len(rows.columns) < 2:
        return []
    lines = [" · ".join(str(value) for value in row) for row in rows.head(MAX_ROWS).itertuples(index=False)]
    more = [f"… and {len(rows) - MAX_ROWS} more"] if len(rows) > MAX_ROWS else []
    return ["```", *lines, *more, "```"]
