"""The whole pipeline in one call: ingest every configured source, build and test the marts with dbt, run the
quality suites, then publish a read snapshot. The CLI (`aioa run`), Dagster and the tests call this same code.

Nothing is published unless dbt and every error-severity check pass: readers keep the previous snapshot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aioa.settings import Settings, claude_config_dirs


class PipelineError(RuntimeError):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step} failed: {message}")
        self.step = step
        self.message = message


@dataclass
class SourcePaths:
    claude_code: list[Path] = field(default_factory=list)
    handoffs: list[Path] = field(default_factory=list)
    otel: list[Path] = field(default_factory=list)
    routing_outcomes: list[Path] = field(default_factory=list)

    @classmethod
    def from_sample(cls, root: Path) -> SourcePaths:
        return cls(sorted(root.glob("claude-code/*/.claude")), [root / "handoffs"], [root / "otel"])

    @classmethod
    def from_settings(cls, settings: Settings) -> SourcePaths:
        def split(value: str) -> list[Path]:
            return [Path(part.strip()).expanduser() for part in value.split(",") if part.strip()]

        return cls(split(settings.claude_code_dirs) or claude_config_dirs(), split(settings.handoff_paths),
                   split(settings.otel_paths), split(settings.routing_outcome_paths))


@dataclass
class PipelineReport:
    status: str = "running"
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    steps: list[dict] = field(default_factory=list)
    snapshot_version: str | None = None
    failed_step: str | None = None
    message: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


StepCallback = Callable[[str], None]


def run_pipeline(settings: Settings, sources: SourcePaths, *, full_refresh: bool = False,
                 on_step: StepCallback | None = None) -> PipelineReport:
    """Run every step; on failure the report names the step and reason, is saved for `aioa doctor`, and re-raised."""
    report = PipelineReport()
    try:
        for name, paths in _ingest_steps(sources):
            _step(report, f"ingest {name}", on_step, lambda name=name, paths=paths: _ingest(settings, name, paths))
        _step(report, "dbt build", on_step, lambda: build_marts(settings, full_refresh=full_refresh))
        _step(report, "quality checks", on_step, lambda: check_marts(settings))
        if settings.warehouse == "duckdb":
            from aioa.warehouse.snapshots import publish_snapshot

            report.snapshot_version = _step(report, "publish snapshot", on_step, lambda: publish_snapshot(settings))
        report.status = "ok"
    except PipelineError as error:
        report.status, report.failed_step, report.message = "failed", error.step, error.message
        raise
    finally:
        save_report(settings, report)
    return report


def build_marts(settings: Settings, *, full_refresh: bool = False) -> dict:
    """dbt build (models and tests) on the configured warehouse; PostgreSQL first receives the new raw rows."""
    from aioa.warehouse.dbt.runner import run_dbt

    copied = None
    if settings.warehouse == "postgres":
        from aioa.warehouse.postgres import sync_raw_to_postgres

        copied = sync_raw_to_postgres(settings)
    result = run_dbt(settings, "build", *(["--full-refresh"] if full_refresh else []))
    if not result.ok:
        reasons = "; ".join(f"{item['node']}: {item['message']}" for item in result.failures[:5])
        raise PipelineError("dbt build", reasons or result.log_tail[-1500:])
    return {"dbt": result.counts, "dbt_seconds": result.seconds, **({"copied_to_postgres": copied} if copied else {})}


def check_marts(settings: Settings) -> dict:
    """Run the quality suites; an error-severity failure stops the pipeline before publishing."""
    from aioa.quality import run_quality_checks

    results = with_session(settings, lambda session: run_quality_checks(session, settings.freshness_hours))
    failed = [result.suite for result in results if not result.success and result.severity == "error"]
    warned = [result.suite for result in results if not result.success and result.severity != "error"]
    if failed:
        raise PipelineError("quality checks", f"failed suites: {', '.join(failed)}")
    return {"suites": len(results), "warnings": warned}


def with_session(settings: Settings, work):
    if settings.warehouse == "postgres":
        from aioa.warehouse.session import PostgresSession

        return work(PostgresSession(settings))
    from aioa.warehouse import connect
    from aioa.warehouse.session import DuckDBSession

    connection = connect(settings)
    try:
        result = work(DuckDBSession(connection))
        connection.execute("checkpoint")
        return result
    finally:
        connection.close()


def _ingest_steps(sources: SourcePaths):
    """Configured sources in order; a configured path that does not exist fails its step (it is never skipped)."""
    for name in ("claude_code", "handoffs", "otel", "routing_outcomes"):
        paths = getattr(sources, name)
        if paths:
            yield name, paths


def _ingest(settings: Settings, name: str, paths: list[Path]) -> dict:
    from aioa.ingest.runner import ingest

    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise PipelineError(f"ingest {name}", f"configured path not found: {', '.join(missing)} "
                                              f"(check the AIOA_* path settings)")
    summary = ingest(_source(name), paths, settings, publish=False)
    return {"rows_added": summary.rows_added, "rows_updated": summary.rows_updated,
            "quarantined": summary.quarantined, "flagged": summary.flagged, "files_read": summary.files_read}


def _source(name: str):
    if name == "claude_code":
        from aioa.ingest.claude_code import ClaudeCodeSource

        return ClaudeCodeSource()
    if name == "handoffs":
        from aioa.ingest.handoffs import HandoffLogSource

        return HandoffLogSource()
    if name == "otel":
        from aioa.ingest.otel import OtelSource

        return OtelSource()
    from aioa.ingest.routing_outcomes import RoutingOutcomesSource

    return RoutingOutcomesSource()


def _step(report: PipelineReport, name: str, on_step: StepCallback | None, work):
    if on_step:
        on_step(name)
    started = time.perf_counter()
    try:
        outcome = work()
    except PipelineError as error:
        report.steps.append({"step": name, "status": "failed", "seconds": _since(started), "message": error.message})
        raise
    except Exception as error:  # any other failure is reported with its step and reason, never swallowed
        report.steps.append({"step": name, "status": "failed", "seconds": _since(started), "message": repr(error)})
        raise PipelineError(name, repr(error)[:1000]) from error
    report.steps.append({"step": name, "status": "ok", "seconds": _since(started),
                         "details": outcome if isinstance(outcome, dict) else {"result": outcome}})
    return outcome


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def report_path(settings: Settings) -> Path:
    return settings.home / "status" / "last_pipeline_run.json"


def save_report(settings: Settings, report: PipelineReport) -> None:
    path = report_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    os.replace(partial, path)


def last_report(settings: Settings) -> dict | None:
    path = report_path(settings)
    return json.loads(path.read_text()) if path.exists() else None
