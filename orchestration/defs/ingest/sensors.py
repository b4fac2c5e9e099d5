"""A sensor that notices new or grown log files and launches ingestion."""


import hashlib
import json

from dagster import AssetSelection, RunRequest, SensorEvaluationContext, SkipReason, define_asset_job, sensor

from aioa.ingest.sources import find_files
from orchestration.defs.ingest.assets import INGEST_ASSETS
from orchestration.defs.ingest.resources import UsageLogsResource

# Ingestion and everything downstream of it (dbt models, checks, the read snapshot; ML assets as they arrive).
ingest_job = define_asset_job("usage_pipeline", selection=AssetSelection.assets(*INGEST_ASSETS).downstream(),
                              description="Ingest new log lines, rebuild the marts, check them, publish a snapshot.",
                              tags={"aioa/pipeline": "usage"})  # a run queue can allow one such run at a time


def fingerprint(logs: UsageLogsResource) -> str:
    """Hash of (path, size, mtime) of every log file: it changes exactly when a file is added or grows."""
    entries = []
    for source in ("claude_code", "handoff_log", "otel"):
        for found in find_files(logs.paths_for(source), ("**/*.jsonl", "**/*.json")):
            stat = found.path.stat()
            entries.append((str(found.path), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(sorted(entries)).encode()).hexdigest()


@sensor(job=ingest_job, minimum_interval_seconds=60, description="Launches ingestion when log files appear or grow.")
def new_log_files(context: SensorEvaluationContext, usage_logs: UsageLogsResource):
    current = fingerprint(usage_logs)
    if current == context.cursor:
        return SkipReason("no new or grown log files")
    context.update_cursor(current)
    return RunRequest(run_key=current)
