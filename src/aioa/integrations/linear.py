"""Linear's GraphQL API: an issue's title and status by its identifier (ABC-123), and opening an issue."""

from __future__ import annotations

from urllib.parse import urlsplit

from aioa.integrations.config import IntegrationSettings
from aioa.integrations.http import ApiClient, ApiError, RetryPolicy
from aioa.integrations.issues import TrackedIssue

ISSUE_QUERY = "query Issue($id: String!) { issue(id: $id) { identifier title url state { name } } }"
CREATE_MUTATION = (
    "mutation Create($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { identifier url } } }"
)


class Linear:
    def __init__(self, config: IntegrationSettings) -> None:
        if config.linear_token is None:
            raise RuntimeError("Linear is not configured: set AIOA_LINEAR_TOKEN (and AIOA_LINEAR_API_URL)")
        parts = urlsplit(config.linear_api_url)
        self.path = parts.path or "/"
        self.client = ApiClient(
            f"{parts.scheme}://{parts.netloc}",
            service="Linear",
            headers={"authorization": config.linear_token.get_secret_value()},
            timeout_s=config.integration_timeout_s,
            retry=RetryPolicy(config.integration_attempts, config.integration_backoff_s),
        )

    def close(self) -> None:
        self.client.close()

    def _graphql(self, query: str, variables: dict) -> dict:
        answer = self.client.post(self.path, json={"query": query, "variables": variables})
        if answer.get("errors"):
            message = answer["errors"][0].get("message", "error")
            if "not found" in message.lower() or "entity" in message.lower():
                return {}
            raise ApiError(f"Linear: {message}")
        return answer.get("data") or {}

    def issue(self, key: str) -> TrackedIssue | None:
        row = self._graphql(ISSUE_QUERY, {"id": key}).get("issue")
        if not row:
            return None
        return TrackedIssue(
            tracker="linear",
            issue_key=row["identifier"],
            title=row.get("title"),
            status=(row.get("state") or {}).get("name"),
            url=row.get("url"),
        )

    def create_issue(self, team_id: str, title: str, body: str) -> dict:
        data = self._graphql(CREATE_MUTATION, {"input": {"teamId": team_id, "title": title, "description": body}})
        created = data.get("issueCreate") or {}
        if not created.get("success"):
            raise ApiError("Linear: issueCreate did not succeed")
        return {"key": created["issue"]["identifier"], "url": created["issue"].get("url")}
