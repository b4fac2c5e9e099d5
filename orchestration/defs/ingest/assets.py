"""One asset per log source of `aioa.ingest.registry` (incremental ingestion into the raw tables; the logic lives
in `aioa.ingest`), and the raw layer they commit."""

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from aioa.ingest.registry import SOURCES, LogSource, MissingPathError, check_paths_exist
from aioa.ingest.runner import ingest
from orchestration.defs.ingest.resources import UsageLogsResource
from orchestration.executor import WRITER_TAG
from orchestration.retries import STEP_RETRY

GROUP = "ingest"


def ingest_source(context: AssetExecutionContext, logs: UsageLogsResource, entry: LogSource) -> MaterializeResult:
    paths = logs.paths_for(entry.name)
    if not paths:
        context.log.info(f"no {entry.name} paths configured; nothing to ingest")
        return MaterializeResult(metadata={"files_seen": 0, "skipped": "no paths configured"})
    try:
        check_paths_exist(entry.name, paths)
    except MissingPathError as error:
        raise Failure(  # a configuration error: retrying cannot help
            description=str(error), metadata={"missing": MetadataValue.json(error.missing)}, allow_retries=False
        ) from None
    summary = ingest(entry.source(), paths, logs.settings(), publish=False)  # read_snapshot publishes at the end
    return MaterializeResult(
        metadata={
            "files_seen": summary.files_seen,
            "files_read": summary.files_read,
            "lines_read": summary.lines_read,
            "rows_added": MetadataValue.json(summary.rows_added),
            "rows_updated": MetadataValue.json(summary.rows_updated),
            "duplicates_skipped": summary.duplicates_skipped,
            "quarantined": summary.quarantined,
            "flagged": summary.flagged,
            "unpriced_calls": summary.unpriced,
            "quarantine_reasons": MetadataValue.json(summary.quarantine_reasons),
            "seconds": summary.seconds,
        }
    )


def ingest_asset(entry: LogSource) -> AssetsDefinition:
    @asset(
        name=entry.asset_name,
        group_name=GROUP,
        kinds={"python", "duckdb"},
        op_tags=WRITER_TAG,
        description=entry.description,
        retry_policy=STEP_RETRY,
    )
    def _ingest(context: AssetExecutionContext, usage_logs: UsageLogsResource) -> MaterializeResult:
        return ingest_source(context, usage_logs, entry)

    return _ingest


INGEST_ASSETS: dict[str, AssetsDefinition] = {entry.name: ingest_asset(entry) for entry in SOURCES}


def _writers(table: str) -> list[AssetsDefinition]:
    """The ingest assets whose reader writes raw.<table>."""
    return [INGEST_ASSETS[entry.name] for entry in SOURCES if table in entry.reader_class().tables]


# The raw tables several sources write to; dbt's sources (`source('raw', …)`) map onto these keys. One step reports
# them once every source has committed, so dbt (downstream) never starts before ingestion has finished.
RAW_TABLE_SPECS = [
    AssetSpec(
        ["raw", "llm_calls"],
        deps=_writers("llm_calls"),
        group_name="raw",
        description="One row per billed model response (contract llm_call).",
    ),
    AssetSpec(
        ["raw", "tool_calls"],
        deps=_writers("tool_calls"),
        group_name="raw",
        description="Tool invocations with results (contract tool_call).",
    ),
    AssetSpec(
        ["raw", "handoffs"],
        deps=_writers("handoffs"),
        group_name="raw",
        description="Delegated tasks and outcomes (contract handoff).",
    ),
    *[
        AssetSpec(["raw", table], deps=list(INGEST_ASSETS.values()), group_name="raw", description=text)
        for table, text in (
            ("orgs", "Orgs from the attribution config (synced by every ingest)."),
            ("teams", "Teams from the attribution config."),
            ("users", "Users from the attribution config."),
            ("projects", "Projects and project groups from the attribution config."),
            ("ingest_runs", "One row per ingest run (drives the incremental marts)."),
            ("model_prices", "List prices of every model the facts mention."),
        )
    ],
]


@multi_asset(
    specs=RAW_TABLE_SPECS,
    can_subset=False,
    op_tags=WRITER_TAG,
    description="The raw layer as committed by the ingest assets: row counts per table; in PostgreSQL mode "
    "the new raw rows are copied to the server here, before dbt builds there.",
)
def raw_tables(context: AssetExecutionContext, usage_logs: UsageLogsResource):
    from aioa.warehouse import connect

    settings = usage_logs.settings()
    copied = None
    if settings.warehouse == "postgres":
        from aioa.warehouse.postgres import sync_raw_to_postgres

        copied = sync_raw_to_postgres(settings)
        context.log.info(f"copied to PostgreSQL: {copied}")
    connection = connect(settings)
    try:
        for spec in RAW_TABLE_SPECS:
            table = ".".join(spec.key.path)
            rows = connection.execute(f"select count(*) from {table}").fetchone()[0]
            name = spec.key.path[-1]
            extra = {"copied_to_postgres": copied.get(name, 0)} if copied else {}
            yield MaterializeResult(asset_key=spec.key, metadata={"rows": rows, **extra})
    finally:
        connection.close()
