"""Tracker metadata for what the org's work links to: GitHub pull requests of the branches in raw.git_commits, and
Jira/Linear issues of the issue keys in branch names and commit messages. Rows of raw.linked_items, replaced per
(org, tracker, key). A tracker that is not configured is skipped; Jira is asked first when both are configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from aioa.contracts import LINKED_ITEM
from aioa.integrations.config import IntegrationSettings
from aioa.integrations.github import GitHub, repo_slug
from aioa.integrations.issues import ISSUE_KEY

BRANCHES_SQL = "select distinct org_id, remote_url, branch from raw.git_commits where remote_url is not null"
# The same key pattern as aioa.integrations.issues.ISSUE_KEY and the dbt macro `issue_keys`, bound as $pattern.
ISSUE_KEYS_SQL = """
with texts as (
    select org_id, git_branch as text from raw.llm_calls where git_branch is not null
    union all
    select org_id, branch from raw.git_commits
    union all
    select org_id, message from raw.git_commits
)
select distinct org_id, unnest(regexp_extract_all(text, $pattern)) as issue_key from texts
"""


@dataclass
class SyncSummary:
    pull_requests: int = 0
    issues: int = 0
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def sync_linked_items(connection, config: IntegrationSettings | None = None) -> SyncSummary:
    config = config or IntegrationSettings()
    summary, rows = SyncSummary(), []
    fetched_at = datetime.now(UTC).replace(tzinfo=None)
    if config.github_configured:
        github = GitHub(config)
        try:
            for org_id, remote_url, branch in connection.execute(BRANCHES_SQL).fetchall():
                repo = repo_slug(remote_url)
                if repo is None:
                    continue
                for pr in github.pull_requests(repo, branch):
                    rows.append(
                        dict(
                            org_id=org_id,
                            tracker="github",
                            item_kind="pull_request",
                            item_key=f"{repo}#{pr.number}",
                            repo=repo,
                            head_branch=pr.head_branch,
                            title=pr.title,
                            status=pr.state,
                            url=pr.url,
                        )
                    )
                    summary.pull_requests += 1
        finally:
            github.close()
    else:
        summary.skipped.append("github (set AIOA_GITHUB_TOKEN)")
    trackers = _issue_trackers(config, summary)
    try:
        if trackers:
            keys = connection.execute(ISSUE_KEYS_SQL, {"pattern": ISSUE_KEY.pattern}).fetchall()
            for org_id, key in keys:
                issue = next((found for tracker in trackers if (found := tracker.issue(key)) is not None), None)
                if issue is not None:
                    rows.append(
                        dict(
                            org_id=org_id,
                            tracker=issue.tracker,
                            item_kind="issue",
                            item_key=issue.issue_key,
                            repo=None,
                            head_branch=None,
                            title=issue.title,
                            status=issue.status,
                            url=issue.url,
                        )
                    )
                    summary.issues += 1
    finally:
        for tracker in trackers:
            tracker.close()
    unique = {(row["org_id"], row["tracker"], row["item_key"]): row for row in rows}  # a PR found from two branches
    _replace(connection, [row | {"fetched_at": fetched_at} for row in unique.values()])
    return summary


def _issue_trackers(config: IntegrationSettings, summary: SyncSummary) -> list:
    from aioa.integrations.jira import Jira
    from aioa.integrations.linear import Linear

    trackers = []
    if config.jira_configured:
        trackers.append(Jira(config))
    else:
        summary.skipped.append("jira (set AIOA_JIRA_URL, AIOA_JIRA_EMAIL, AIOA_JIRA_TOKEN)")
    if config.linear_configured:
        trackers.append(Linear(config))
    else:
        summary.skipped.append("linear (set AIOA_LINEAR_TOKEN)")
    return trackers


def _replace(connection, rows: list[dict]) -> None:
    types = {"TIMESTAMP": pa.timestamp("us")}
    table = pa.table(
        {
            column.name: pa.array([row[column.name] for row in rows], type=types.get(column.sql_type, pa.string()))
            for column in LINKED_ITEM.columns
        }
    )
    connection.register("linked_item_rows", table)
    try:
        connection.execute("begin")
        connection.execute(
            "delete from raw.linked_items as t using linked_item_rows as r "
            "where t.org_id = r.org_id and t.tracker = r.tracker and t.item_key = r.item_key"
        )
        connection.execute("insert into raw.linked_items by name select * from linked_item_rows")
        connection.execute("commit")
    except Exception:
        connection.execute("rollback")
        raise
    finally:
        connection.unregister("linked_item_rows")
