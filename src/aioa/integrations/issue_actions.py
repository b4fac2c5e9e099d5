"""The rules engine's `open_issue` action: one issue in GitHub, Jira or Linear for an incident, titled and written
like its notification (aioa.notify.message)."""

from __future__ import annotations

from aioa.integrations.config import IntegrationSettings


def open_issue(action, title: str, body: str, config: IntegrationSettings | None = None) -> dict:
    """Open the issue `action` (aioa.rules.spec.OpenIssueAction) describes; the action's result record."""
    from aioa.integrations.github import GitHub
    from aioa.integrations.jira import Jira
    from aioa.integrations.linear import Linear

    config = config or IntegrationSettings()
    tracker = {"github": GitHub, "jira": Jira, "linear": Linear}[action.tracker](config)
    try:
        if action.tracker == "github":
            created = tracker.create_issue(action.repo, title, body, action.labels)
        elif action.tracker == "jira":
            created = tracker.create_issue(action.project, title, body)
        else:
            created = tracker.create_issue(action.team, title, body)
    finally:
        tracker.close()
    return {"action": "open_issue", "tracker": action.tracker, "status": "opened", **created}
