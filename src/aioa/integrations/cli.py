"""`aioa integrations`: link usage to git commits, pull requests and issues, see what is configured, read the cost
per commit, pull request and issue, and link chat users (Slack, Teams) to accounts. Heavy imports happen inside the
commands."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer
from rich.console import Console

integrations_app = typer.Typer(
    help="Git, GitHub, Jira, Linear, Slack and Teams: cost per commit, pull request and issue; chat bots.",
    no_args_is_help=True,
)
console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
COST_TABLES = {  # what -> (mart, its label columns); a literal map, the SQL below takes names only from here
    "commits": ("fct_commit_costs", ["repo_path", "branch", "commit_sha", "summary"]),
    "issues": ("agg_issue_costs", ["issue_key", "tracker", "title", "status"]),
    "pull-requests": ("agg_pull_request_costs", ["pull_request_key", "title", "status"]),
}


def _settings():
    from aioa.settings import get_settings

    return get_settings()


@integrations_app.command("link-git")
def link_git_command(
    as_json: JsonFlag = False,
    trackers: Annotated[
        bool, typer.Option(help="Also fetch pull requests and issues from configured trackers.")
    ] = True,
) -> None:
    """Read the repositories and branches the ingested calls ran in (their cwd and git branch) into
    raw.git_commits, and the pull requests and issues they link to into raw.linked_items. The pipeline does the same
    on every run; `aioa run` rebuilds the cost marts from them."""
    from aioa.integrations.git import link_git
    from aioa.integrations.trackers import sync_linked_items
    from aioa.warehouse import connect

    settings = _settings()
    connection = connect(settings)
    try:
        with console.status("reading git history…"):
            git = link_git(settings, connection)
        items = None
        if trackers:
            with console.status("asking GitHub, Jira and Linear…"):
                items = sync_linked_items(connection)
    finally:
        connection.close()
    payload = {"git": git.to_dict(), "trackers": items.to_dict() if items else None}
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    typer.echo(f"{git.commits} commits on {git.branches} branches of {len(git.repositories)} repositories")
    for path in git.missing:
        typer.echo(f"  not a repository (or gone): {path}")
    if items:
        typer.echo(f"{items.pull_requests} pull requests, {items.issues} issues")
        for skipped in items.skipped:
            typer.echo(f"  not configured: {skipped}")
    typer.echo("Run `aioa run` to rebuild the cost per commit, pull request and issue marts.")


@integrations_app.command("status")
def status_command(as_json: JsonFlag = False) -> None:
    """Which integrations are configured (no secrets shown), and how many commits and linked items are stored."""
    from aioa.integrations.chat_links import list_links
    from aioa.integrations.config import IntegrationSettings
    from aioa.warehouse import connect

    settings, config = _settings(), IntegrationSettings()
    connection = connect(settings)
    try:
        commits = connection.execute("select count(*) from raw.git_commits").fetchone()[0]
        items = dict(connection.execute("select tracker, count(*) from raw.linked_items group by all").fetchall())
    finally:
        connection.close()
    payload = {
        "github": {"configured": config.github_configured, "api_url": config.github_api_url},
        "jira": {"configured": config.jira_configured, "url": config.jira_url},
        "linear": {"configured": config.linear_configured, "api_url": config.linear_api_url},
        "slack": {"configured": config.slack_signing_secret is not None},
        "teams": {"configured": config.teams_webhook_secret is not None},
        "git_commits": commits,
        "linked_items": items,
        "chat_links": len(list_links(settings)),
    }
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    for name in ("github", "jira", "linear", "slack", "teams"):
        entry = payload[name]
        where = entry.get("api_url") or entry.get("url") or ""
        typer.echo(f"{name:8} {'configured' if entry['configured'] else 'not configured':15} {where or ''}")
    typer.echo(f"commits stored: {commits}; linked items: {items or 0}; chat links: {payload['chat_links']}")


@integrations_app.command("costs")
def costs_command(
    what: Annotated[
        Literal["commits", "issues", "pull-requests"], typer.Argument(help="commits, issues, pull-requests")
    ],
    org: Annotated[str | None, typer.Option(help="Only this org (default: every org).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most expensive first, at most this many.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Cost per commit, issue or pull request from the published snapshot, most expensive first."""
    from rich.table import Table

    from aioa.formatting import count, money
    from aioa.reports.output import print_rich_table
    from aioa.warehouse.access import TenantScope
    from aioa.warehouse.relations import tenant_filter
    from aioa.warehouse.snapshots import NoSnapshotError, open_snapshot

    table, labels = COST_TABLES[what]
    scope = TenantScope.for_orgs(org) if org else TenantScope.all_orgs()
    where, params = tenant_filter(scope, f"marts.{table}")
    columns = ", ".join(labels)
    sql = (
        f"select org_id, {columns}, sum(calls) as calls, sum(unpriced_calls) as unpriced_calls, "
        f"sum(cost_usd) as cost_usd from marts.{table} where {where} "
        f"group by org_id, {columns} order by cost_usd desc nulls last limit $limit"
    )
    try:
        connection, _ = open_snapshot(_settings())
    except NoSnapshotError as error:
        raise typer.BadParameter(str(error)) from None
    with connection:
        frame = connection.execute(sql, {**params, "limit": limit}).df()
    if as_json:
        typer.echo(frame.to_json(orient="records", date_format="iso"))
        return
    table_view = Table(title=f"Cost per {what.rstrip('s').replace('-', ' ')}")
    for name in ["org_id", *labels, "calls", "cost_usd"]:
        table_view.add_column(name, justify="right" if name in ("calls", "cost_usd") else "left")
    for row in frame.itertuples(index=False):
        values = row._asdict()
        money_text = money(values["cost_usd"]) + (
            f" (+{values['unpriced_calls']} unpriced)" if values["unpriced_calls"] else ""
        )
        table_view.add_row(
            *[str(values[name] or "") for name in ["org_id", *labels]], count(values["calls"]), money_text
        )
    print_rich_table(table_view)


@integrations_app.command("link-chat")
def link_chat_command(
    provider: Annotated[str, typer.Argument(help="slack or teams")],
    workspace: Annotated[str, typer.Argument(help="Slack team id (T…) or Teams tenant id")],
    chat_user: Annotated[str, typer.Argument(help="Slack user id (U…) or Teams user (AAD object) id")],
    email: Annotated[str, typer.Argument(help="Email of the aioa account whose org and role answer")],
) -> None:
    """Link a chat user to an account: the bot answers them with that account's org, team and role."""
    from aioa.integrations.chat_links import NotLinked, link

    try:
        account = link(_settings(), provider, workspace, chat_user, email)
    except (NotLinked, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"{provider} {workspace}/{chat_user} -> account {account} ({email})")


@integrations_app.command("unlink-chat")
def unlink_chat_command(provider: str, workspace: str, chat_user: str) -> None:
    """Remove a chat user's link (the bot then answers them with no data)."""
    from aioa.integrations.chat_links import unlink

    removed = unlink(_settings(), provider, workspace, chat_user)
    typer.echo("removed" if removed else "no such link")
