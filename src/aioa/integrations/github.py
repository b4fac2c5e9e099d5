"""GitHub's REST API: the pull requests of a branch (metadata for cost per pull request) and opening an issue."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aioa.integrations.config import IntegrationSettings
from aioa.integrations.http import ApiClient, RetryPolicy

_REMOTE = re.compile(r"github\.com[:/]+([^/\s]+/[^/\s]+?)(?:\.git)?/?$")


def repo_slug(remote_url: str | None) -> str | None:
    """`owner/name` of a GitHub remote URL (https or ssh form), else None."""
    match = _REMOTE.search(remote_url or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class PullRequest:
    repo: str
    number: int
    title: str
    state: str  # open, closed, merged
    head_branch: str
    url: str


class GitHub:
    def __init__(self, config: IntegrationSettings) -> None:
        if config.github_token is None:
            raise RuntimeError(
                "GitHub is not configured: set AIOA_GITHUB_TOKEN (and AIOA_GITHUB_API_URL for Enterprise)"
            )
        self.client = ApiClient(
            config.github_api_url,
            service="GitHub",
            headers={
                "authorization": f"Bearer {config.github_token.get_secret_value()}",
                "accept": "application/vnd.github+json",
                "x-github-api-version": "2022-11-28",
            },
            timeout_s=config.integration_timeout_s,
            retry=RetryPolicy(config.integration_attempts, config.integration_backoff_s),
        )

    def close(self) -> None:
        self.client.close()

    def pull_requests(self, repo: str, branch: str) -> list[PullRequest]:
        """Every pull request (open or closed) whose head is `branch` of `repo` (`owner/name`)."""
        owner = repo.split("/", 1)[0]
        rows = self.client.get(f"/repos/{repo}/pulls", params={"head": f"{owner}:{branch}", "state": "all"})
        return [
            PullRequest(
                repo=repo,
                number=int(row["number"]),
                title=row.get("title") or "",
                state="merged" if row.get("merged_at") else row.get("state", "open"),
                head_branch=row.get("head", {}).get("ref", branch),
                url=row.get("html_url") or "",
            )
            for row in rows
        ]

    def create_issue(self, repo: str, title: str, body: str, labels: list[str] = ()) -> dict:
        """Open an issue in `repo`; its number and URL."""
        row = self.client.post(f"/repos/{repo}/issues", json={"title": title, "body": body, "labels": list(labels)})
        return {"key": f"{repo}#{row['number']}", "url": row.get("html_url")}
