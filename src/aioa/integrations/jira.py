"""Jira's REST API v3: an issue's title and status, and opening an issue (basic auth: account email + API token)."""

from __future__ import annotations

from aioa.integrations.config import IntegrationSettings
from aioa.integrations.http import ApiClient, ApiError, RetryPolicy
from aioa.integrations.issues import TrackedIssue


class Jira:
    def __init__(self, config: IntegrationSettings) -> None:
        if not config.jira_configured:
            raise RuntimeError("Jira is not configured: set AIOA_JIRA_URL, AIOA_JIRA_EMAIL and AIOA_JIRA_TOKEN")
        self.site = config.jira_url.rstrip("/")
        self.client = ApiClient(
            self.site,
            service="Jira",
            auth=(config.jira_email, config.jira_token.get_secret_value()),
            timeout_s=config.integration_timeout_s,
            retry=RetryPolicy(config.integration_attempts, config.integration_backoff_s),
        )

    def close(self) -> None:
        self.client.close()

    def issue(self, key: str) -> TrackedIssue | None:
        """The issue `key` (e.g. ABC-123), or None when Jira does not know it."""
        try:
            row = self.client.get(f"/rest/api/3/issue/{key}", params={"fields": "summary,status"})
        except ApiError as error:
            if error.status_code == 404:
                return None
            raise
        fields = row.get("fields", {})
        return TrackedIssue(
            tracker="jira",
            issue_key=row.get("key", key),
            title=fields.get("summary"),
            status=(fields.get("status") or {}).get("name"),
            url=f"{self.site}/browse/{row.get('key', key)}",
        )

    def create_issue(self, project: str, title: str, body: str, issue_type: str = "Task") -> dict:
        description = {  # v3 takes Atlassian Document Format
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": body}]}],
        }
        fields = {"project": {"key": project}, "summary": title, "description": description}
        row = self.client.post("/rest/api/3/issue", json={"fields": fields | {"issuetype": {"name": issue_type}}})
        return {"key": row["key"], "url": f"{self.site}/browse/{row['key']}"}
