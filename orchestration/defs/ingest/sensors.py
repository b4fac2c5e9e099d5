"""A sensor that notices new or grown log files of any registered source and launches the pipeline."""

import hashlib
import json

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from aioa.ingest.registry import SOURCES
from orchestration.defs.ingest.jobs import usage_pipeline
from orchestration.defs.ingest.resources import UsageLogsResource


def fingerprint(logs: UsageLogsResource) -> str:
    """Hash of (path, size, mtime) of every file the readers would read: it changes exactly when a file is added or
    grows. Missing paths are left to the run, which fails with the reason."""
    entries = []
    for entry in SOURCES:
        paths = [path for path in logs.paths_for(entry.name) if path.exists()]
        for found in entry.source().discover(paths) if paths else []:
            if found.skip_reason is None:
                stat = found.path.stat()
                entries.append((str(found.path), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(sorted(entries)).encode()).hexdigest()


@sensor(
    job=usage_pipeline,
    minimum_interval_seconds=60,
    description="Launches the pipeline when log files appear or grow.",
    default_status=DefaultSensorStatus.RUNNING,  # on from the start (`dagster dev` runs it with the UI)
)
def new_log_files(context: SensorEvaluationContext, usage_logs: UsageLogsResource):
    current = fingerprint(usage_logs)
    if current == context.cursor:
        return SkipReason("no new or grown log files")
    context.update_cursor(current)
    return RunRequest(run_key=current)
