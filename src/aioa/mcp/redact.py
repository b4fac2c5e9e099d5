"""Redaction of MCP server secrets: values of env variables and headers, URL credentials and secret-looking query
parameters and arguments. Nothing redacted here is ever written anywhere."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
_SECRET_NAME = re.compile(r"(token|secret|passw|pwd|api[-_]?key|apikey|auth|credential|private|session|sig|key$)", re.I)


def redact_mapping(values: dict[str, str]) -> dict[str, str]:
    """Keys kept (they say what is configured), every value hidden: env and headers are where secrets go."""
    return {key: REDACTED for key in values}


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = urlencode(
        [(name, REDACTED if _SECRET_NAME.search(name) else value) for name, value in parse_qsl(parts.query, True)],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_args(args: list[str]) -> list[str]:
    """`--api-key X`, `--token=X`, `API_KEY=X` and URLs with credentials in arguments are hidden."""
    shown: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            shown.append(REDACTED)
            hide_next = False
        elif arg.startswith("-") and "=" in arg and _SECRET_NAME.search(arg.split("=", 1)[0]):
            shown.append(f"{arg.split('=', 1)[0]}={REDACTED}")
        elif arg.startswith("-") and _SECRET_NAME.search(arg):
            shown.append(arg)
            hide_next = True
        elif "=" in arg and _SECRET_NAME.search(arg.split("=", 1)[0]):
            shown.append(f"{arg.split('=', 1)[0]}={REDACTED}")
        elif "://" in arg:
            shown.append(redact_url(arg))
        else:
            shown.append(arg)
    return shown
