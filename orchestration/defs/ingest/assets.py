"""One asset per log source: incremental ingestion into the raw tables (the logic lives in `aioa.ingest`)."""


from dagster import AssetExecutionContext, AssetSpec, Failure, MaterializeResult, MetadataValue, asset, multi_asset

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from orchestration.defs.ingest.resources import UsageLogsResource
from orchestration.executor import WRITER_TAG

GROUP = "ingest"


def _ingest(context: AssetExecutionContext, logs: UsageLogsResource, source) -> MaterializeResult:
    paths = logs.paths_for(source.name)
    if not paths:
        context.log.warning(f"no {source.name} paths configured; nothing to ingest")
        return MaterializeResult(metadata={"files_seen": 0, "skipped": "no paths configured"})
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise Failure(description=f"{source.name}: configured path not found: {', '.join(missing)}",
                      metadata={"missing": MetadataValue.json(missing)})
    summary = ingest(source, paths, logs.settings(), publish=False)  # read_snapshot publishes after dbt
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


@asset(group_name=GROUP, kinds={"python", "duckdb"}, op_tags=WRITER_TAG,
       description="Claude Code transcripts (all config dirs, subagent files included) → raw.llm_calls, raw.tool_calls.")
def claude_code_logs(context: AssetExecutionContext, usage_logs: UsageLogsResource) -> MaterializeResult:
    return _ingest(context, usage_logs, ClaudeCodeSource())


@asset(group_name=GROUP, kinds={"python", "duckdb"}, op_tags=WRITER_TAG,
       description="Handoff event logs (aioa.handoff/1 and the first version's tracking log) → raw.handoffs.")
def handoff_logs(context: AssetExecutionContext, usage_logs: UsageLogsResource) -> MaterializeResult:
    from aioa.ingest.handoffs import HandoffLogSource

    return _ingest(context, usage_logs, HandoffLogSource())


@asset(group_name=GROUP, kinds={"python", "duckdb"}, op_tags=WRITER_TAG,
       description="OTLP/JSON GenAI spans and Claude Code OTel events → raw.llm_calls, raw.tool_calls.")
def otel_exports(context: AssetExecutionContext, usage_logs: UsageLogsResource) -> MaterializeResult:
    from aioa.ingest.otel import OtelSource

    return _ingest(context, usage_logs, OtelSource())


INGEST_ASSETS = [claude_code_logs, handoff_logs, otel_exports]

# The raw tables several sources write to; dbt's sources (`source('raw', …)`) map onto these keys. One step reports
# them once every source has committed, so dbt (downstream) never starts before ingestion has finished.
RAW_TABLE_SPECS = [
    AssetSpec(["raw", "llm_calls"], deps=[claude_code_logs, otel_exports], group_name="raw",
              description="One row per billed model response (contract llm_call)."),
    AssetSpec(["raw", "tool_calls"], deps=[claude_code_logs, otel_exports], group_name="raw",
              description="Tool invocations with results (contract tool_call)."),
    AssetSpec(["raw", "handoffs"], deps=[handoff_logs], group_name="raw",
              description="Delegated tasks and outcomes (contract handoff)."),
    *[AssetSpec(["raw", table], deps=INGEST_ASSETS, group_name="raw", description=text) for table, text in (
        ("orgs", "Orgs from the attribution config (synced by every ingest)."),
        ("teams", "Teams from the attribution config."),
        ("users", "Users from the attribution config."),
        ("projects", "Projects and project groups from the attribution config."),
        ("ingest_runs", "One row per ingest run (drives the incremental marts)."),
        ("model_prices", "List prices of every model the facts mention."),
    )],
]


@multi_asset(specs=RAW_TABLE_SPECS, can_subset=False, op_tags=WRITER_TAG,
             description="The raw layer as committed by the ingest assets: row counts per table.")
def raw_tables(usage_logs: UsageLogsResource):
    from aioa.warehouse import connect

    connection = connect(usage_logs.settings())
    try:
        for spec in RAW_TABLE_SPECS:
            table = ".".join(spec.key.path)
            rows = connection.execute(f"select count(*) from {table}").fetchone()[0]
            yield MaterializeResult(asset_key=spec.key, metadata={"rows": rows})
    finally:
        connection.close()
