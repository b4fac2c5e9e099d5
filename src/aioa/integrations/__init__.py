"""Integrations with the tools teams work in: git history and GitHub pull requests (cost per commit and per pull
request), Jira and Linear issues (cost per issue), Slack and Teams bots, and issues opened by rules
(docs/integrations.md). Every external API is called through `aioa.integrations.http.ApiClient`."""
