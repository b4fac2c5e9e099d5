"""Issue keys (ABC-123) in branch names and commit messages, and the trackers' titles and statuses for them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The key pattern the dbt models use too (macro `issue_keys`): a project key of capitals/digits, a dash, a number.
ISSUE_KEY = re.compile(r"\b[A-Z][A-Z0-9]+-[0-9]+\b")


@dataclass(frozen=True)
class TrackedIssue:
    tracker: str  # jira, linear
    issue_key: str
    title: str | None
    status: str | None
    url: str | None


def issue_keys(text: str | None) -> list[str]:
    """Distinct issue keys in `text`, in order of appearance."""
    return list(dict.fromkeys(ISSUE_KEY.findall(text or "")))
