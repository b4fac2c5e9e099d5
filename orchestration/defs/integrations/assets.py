"""The integrations' raw tables: commits of the repositories and branches the calls ran in (local git history), and
the pull requests and issues they link to (GitHub, Jira, Linear when configured). dbt's cost per commit, pull
request and issue marts read them; the logic lives in `aioa.integrations`."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from orchestration.defs.ingest.resources import UsageLogsResource
from orchestration.executor import WRITER_TAG

LINK_SPECS = [
    AssetSpec(
        ["raw", "git_commits"],
        deps=[AssetKey(["raw", "llm_calls"])],
        group_name="raw",
        description="Commits of the branches the calls ran on (contract git_commit).",
    ),
    AssetSpec(
        ["raw", "linked_items"],
        deps=[AssetKey(["raw", "llm_calls"])],
        group_name="raw",
        description="Pull requests and issues the work links to (contract linked_item).",
    ),
]


@multi_asset(specs=LINK_SPECS, can_subset=False, op_tags=WRITER_TAG, description="Link usage to git and trackers.")
def linked_work(context: AssetExecutionContext, usage_logs: UsageLogsResource):
    from aioa.integrations.git import link_git
    from aioa.integrations.trackers import sync_linked_items
    from aioa.warehouse import connect

    settings = usage_logs.settings()
    connection = connect(settings)
    try:
        git = link_git(settings, connection)
        items = sync_linked_items(connection)
    finally:
        connection.close()
    if settings.warehouse == "postgres":  # the raw layer was copied before these rows existed
        from aioa.warehouse.postgres import sync_raw_to_postgres

        sync_raw_to_postgres(settings)
    context.log.info(f"git: {git.to_dict()}; trackers: {items.to_dict()}")
    yield MaterializeResult(
        asset_key=LINK_SPECS[0].key,
        metadata={"commits": git.commits, "repositories": MetadataValue.json(git.repositories)},
    )
    yield MaterializeResult(
        asset_key=LINK_SPECS[1].key,
        metadata={
            "pull_requests": items.pull_requests,
            "issues": items.issues,
            "skipped": MetadataValue.json(items.skipped),
        },
    )
