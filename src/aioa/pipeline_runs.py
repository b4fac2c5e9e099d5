"""The latest pipeline run, wherever it was launched: `aioa run` (its report under <AIOA_HOME>/status) or Dagster
itself (the UI, the new-files sensor, the daily schedule: Dagster's run storage under DAGSTER_HOME, the same
instance `aioa run` records its runs in). `aioa doctor` and the app's Overview read it from here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aioa.settings import Settings

PIPELINE_JOB = "usage_pipeline"  # orchestration.defs.ingest.jobs.PIPELINE_JOB (not imported: it loads Dagster)


@dataclass(frozen=True)
class PipelineRun:
    status: str  # ok, failed, running, queued, canceled
    started_at: datetime | None
    finished_at: datetime | None
    launched_by: str  # "aioa run", "sensor new_log_files", "schedule daily_ingest", "Dagster UI"
    run_id: str | None
    snapshot_version: str | None = None
    failed_step: str | None = None
    message: str | None = None
    source: str = "aioa"  # where it was read: "aioa" (the run report) or "dagster" (the run storage)

    def describe(self) -> str:
        when = self.started_at.strftime("%Y-%m-%d %H:%M UTC") if self.started_at else "at an unknown time"
        took = ""
        if self.started_at and self.finished_at:
            from aioa.formatting import duration

            took = f", {duration((self.finished_at - self.started_at).total_seconds())}"
        return f"{self.status} ({self.launched_by}, {when}{took})"


def dagster_home(settings: Settings) -> Path | None:
    """DAGSTER_HOME when set, else the instance `aioa run` creates under <AIOA_HOME>/dagster (if it exists)."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]).expanduser()
    folder = settings.home / "dagster"
    return folder if folder.is_dir() else None


def from_report(settings: Settings) -> PipelineRun | None:
    from aioa.pipeline import last_report

    report = last_report(settings)
    if report is None:
        return None
    started = datetime.fromisoformat(report["started_at"]) if report.get("started_at") else None
    seconds = sum(step.get("seconds") or 0 for step in report.get("steps", []))
    from datetime import timedelta

    return PipelineRun(
        status=report["status"],
        started_at=started,
        finished_at=started + timedelta(seconds=seconds) if started and report["status"] != "running" else None,
        launched_by="aioa run",
        run_id=report.get("run_id"),
        snapshot_version=report.get("snapshot_version"),
        failed_step=report.get("failed_step"),
        message=report.get("message"),
    )


_DAGSTER_STATUS = {
    "SUCCESS": "ok",
    "FAILURE": "failed",
    "CANCELED": "canceled",
    "CANCELING": "canceled",
    "STARTED": "running",
    "STARTING": "running",
    "NOT_STARTED": "queued",
    "QUEUED": "queued",
    "MANAGED": "running",
}


def from_dagster(settings: Settings) -> PipelineRun | None:
    """The newest run of the pipeline job in Dagster's run storage (None without an instance or a run)."""
    home = dagster_home(settings)
    if home is None or not home.is_dir():
        return None
    from dagster import DagsterEventType, DagsterInstance, RunsFilter

    instance = DagsterInstance.from_config(str(home))
    try:
        records = instance.get_run_records(filters=RunsFilter(job_name=PIPELINE_JOB), limit=1)
        if not records:
            return None
        record = records[0]
        run = record.dagster_run
        status = _DAGSTER_STATUS.get(run.status.value, run.status.value.lower())
        failed_step = message = None
        if status == "failed":
            failures = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
            if failures:
                event = failures[0].dagster_event
                from aioa.pipeline import _failure_message, step_label  # the report's own words for a failure

                failed_step = step_label(event.step_key)
                message = _failure_message(event)[:400]
        return PipelineRun(
            status=status,
            started_at=_utc(record.start_time or record.create_timestamp.timestamp()),
            finished_at=_utc(record.end_time),
            launched_by=_launcher(run.tags),
            run_id=run.run_id,
            failed_step=failed_step,
            message=message,
            source="dagster",
        )
    finally:
        instance.dispose()


def _utc(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def _launcher(tags: dict) -> str:
    if tags.get("aioa/trigger"):
        return tags["aioa/trigger"]
    if tags.get("dagster/sensor_name"):
        return f"sensor {tags['dagster/sensor_name']}"
    if tags.get("dagster/schedule_name"):
        return f"schedule {tags['dagster/schedule_name']}"
    if tags.get("dagster/backfill"):
        return "Dagster backfill"
    return "Dagster UI"


def latest_run(settings: Settings, *, with_dagster: bool = True) -> PipelineRun | None:
    """The newer of the run report and Dagster's latest run (the report's details when both are the same run)."""
    report = from_report(settings)
    try:
        dagster = from_dagster(settings) if with_dagster else None
    except Exception:  # noqa: BLE001 - an unreadable Dagster storage must not hide the run report
        dagster = None
    if dagster is None:
        return report
    if report is None:
        return dagster
    if report.run_id == dagster.run_id:
        if dagster.status == "running" and report.status != "running":
            return report
        return report if report.status == dagster.status else dagster
    newest = max((report, dagster), key=lambda run: run.started_at or datetime.min.replace(tzinfo=UTC))
    return newest
