"""`aioa run` and the tests' entry to the pipeline: materialise the Dagster job in-process.

The Dagster asset graph (`orchestration/`) is the only definition of the pipeline: ingest every registered source,
build and test the marts with dbt, run the quality checks, the ML assets, then publish one read snapshot. This
module only chooses the resources and the selection (`include_ml`), follows the run's events (for a progress
display and the report) and saves the report for `aioa doctor`.

Nothing is published unless dbt and every error-severity check pass: readers keep the previous snapshot.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aioa.atomic_files import write_text_atomically
from aioa.ingest.registry import BY_NAME, SOURCES
from aioa.ops.logs import with_run_id
from aioa.ops.tracing import traced
from aioa.settings import Settings

ML_GROUP = "ml"


class PipelineError(RuntimeError):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step} failed: {message}")
        self.step = step
        self.message = message


@dataclass
class SourcePaths:
    """Paths per source of `aioa.ingest.registry` (field = source name); an empty list means "not configured"."""

    claude_code: list[Path] = field(default_factory=list)
    handoffs: list[Path] = field(default_factory=list)
    otel: list[Path] = field(default_factory=list)
    routing_outcomes: list[Path] = field(default_factory=list)

    @classmethod
    def from_sample(cls, root: Path) -> SourcePaths:
        return cls(sorted(root.glob("claude-code/*/.claude")), [root / "handoffs"], [root / "otel"])

    @classmethod
    def from_settings(cls, settings: Settings) -> SourcePaths:
        return cls(**{entry.name: entry.configured_paths(settings) for entry in SOURCES})


@dataclass
class PipelineReport:
    status: str = "running"
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    steps: list[dict] = field(default_factory=list)
    snapshot_version: str | None = None
    failed_step: str | None = None
    message: str | None = None
    run_id: str | None = None
    materialized: list[str] = field(default_factory=list)  # asset keys ("marts/fct_llm_calls", …)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StepEvent:
    """What a progress display needs: `kind` is "started", "ok", "failed" or "skipped"."""

    kind: str
    step: str
    seconds: float | None = None
    message: str | None = None


StepCallback = Callable[[str], None]
EventCallback = Callable[[StepEvent], None]


def step_label(step_key: str) -> str:
    """The report's name for a Dagster step ("ingest otel", "dbt build", …; ML steps by their op name)."""
    named = {entry.asset_name: f"ingest {entry.name}" for entry in SOURCES} | {
        "raw_tables": "raw tables",
        "aioa_dbt_models": "dbt build",
        "mart_quality_checks": "quality checks",
        "read_snapshot": "publish snapshot",
    }
    return named.get(step_key, step_key.replace("__", " "))


def pipeline_asset_keys(*, include_ml: bool = True) -> list:
    """The asset keys `aioa run` materialises: every asset of the pipeline job (without the `ml` group on request)."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = sorted(job_asset_keys(), key=lambda key: key.to_user_string())
    if include_ml:
        return keys
    return [key for key in keys if graph.get(key).group_name != ML_GROUP]


def pipeline_job_name() -> str:
    from orchestration.defs.ingest.jobs import PIPELINE_JOB

    return PIPELINE_JOB


def _pipeline_job():
    from orchestration.defs.ingest.jobs import usage_pipeline

    return usage_pipeline


def job_asset_keys() -> set:
    """Every asset key the Definitions' pipeline job materialises."""
    from orchestration.definitions import defs

    return set(defs.resolve_job_def(pipeline_job_name()).asset_layer.selected_asset_keys)


def run_pipeline(
    settings: Settings,
    sources: SourcePaths,
    *,
    full_refresh: bool = False,
    include_ml: bool = True,
    on_step: StepCallback | None = None,
    on_event: EventCallback | None = None,
) -> PipelineReport:
    """Materialise the pipeline job in-process. On failure the report names the step and reason, is saved for
    `aioa doctor`, and a PipelineError is raised."""
    report = PipelineReport()
    try:
        _materialise(
            settings,
            sources,
            report,
            full_refresh=full_refresh,
            include_ml=include_ml,
            on_step=on_step,
            on_event=on_event,
        )
    finally:
        save_report(settings, report)
    return report


@with_run_id  # log lines of the run carry its id
@traced(
    "aioa.pipeline.run",
    lambda _settings, _sources, report, **options: {
        "run_id": report.run_id,
        "status": report.status,
        "failed_step": report.failed_step,
        "full_refresh": options["full_refresh"],
        "include_ml": options["include_ml"],
    },
)
def _materialise(
    settings: Settings,
    sources: SourcePaths,
    report: PipelineReport,
    *,
    full_refresh: bool,
    include_ml: bool,
    on_step: StepCallback | None,
    on_event: EventCallback | None,
) -> None:
    from aioa.warehouse.dbt.runner import prepare_manifest

    try:
        prepare_manifest(settings)  # the dbt asset graph is read from the manifest when the definitions load
    except RuntimeError as error:
        report.status, report.failed_step, report.message = "failed", "dbt parse", str(error)[-1500:]
        raise PipelineError("dbt parse", str(error)[-1500:]) from None
    from dagster import Definitions, RunConfig
    from orchestration.definitions import defs
    from orchestration.defs.warehouse.assets import DbtBuildConfig

    # The code location's own assets, checks and job, bound to this run's resources instead of the AIOA_* ones.
    bound = Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=[_pipeline_job()],
        resources=pipeline_resources(settings, sources),
    )
    job = bound.resolve_job_def(pipeline_job_name())
    tracker = _EventTracker(report, on_step, on_event)
    report.run_id = report.run_id or str(uuid.uuid4())
    run_config = RunConfig(
        ops={"aioa_dbt_models": DbtBuildConfig(full_refresh=full_refresh)},
        loggers={"console": {"config": {"log_level": "CRITICAL"}}},
    )  # the events feed the display
    log = log_path(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    # dbt's own output (streamed to stdout by dagster-dbt) goes to a log file: stdout stays clean for `--json`
    with (
        _instance(settings) as instance,
        log.open("w") as log_file,
        redirect_stdout(log_file),
        _sigterm_kept(),
    ):
        instance.add_event_listener(report.run_id, tracker)
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            run_id=report.run_id,
            asset_selection=pipeline_asset_keys(include_ml=include_ml),
            raise_on_error=False,
            tags={"aioa/trigger": "aioa run"},
        )
    report.materialized = sorted(
        {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    )
    if result.success:
        report.status = "ok"
        return
    report.status = "failed"
    failed = next((step for step in report.steps if step["status"] == "failed"), None)
    report.failed_step = failed["step"] if failed else "pipeline"
    report.message = failed["message"] if failed else "the run failed before any step (see the Dagster run logs)"
    raise PipelineError(report.failed_step, report.message)


@contextmanager
def _sigterm_kept() -> Iterator[None]:
    """Dagster maps SIGTERM to SIGINT's handler while a run executes and leaves it so afterwards: in a process that
    ignores SIGINT (a background job of a script, a pool worker) SIGTERM stayed ignored after every run, and in any
    other it raised KeyboardInterrupt. Put back what SIGTERM did before (only the main thread can)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if before is not None:  # None: set outside Python, cannot be restored from here
            signal.signal(signal.SIGTERM, before)


def pipeline_resources(settings: Settings, sources: SourcePaths) -> dict[str, Any]:
    """The job's resources for these settings and exactly these source paths (no defaults, no AIOA_* paths)."""
    from orchestration.defs.ingest.resources import UsageLogsResource
    from orchestration.defs.warehouse.resources import WarehouseResource, dbt_resource

    paths = {BY_NAME[name].settings_key: ",".join(str(path) for path in getattr(sources, name)) for name in BY_NAME}
    return {
        "usage_logs": UsageLogsResource.for_settings(settings, from_settings=False, **paths),
        "warehouse": WarehouseResource.for_settings(settings),
        "dbt": dbt_resource(settings),
    }


class _instance:
    """DAGSTER_HOME's instance when set (the runs show in `dagster dev`), else one under <home>/dagster."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __enter__(self):
        from dagster import DagsterInstance

        if os.environ.get("DAGSTER_HOME"):
            Path(os.environ["DAGSTER_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)  # Dagster won't
            self.instance = DagsterInstance.get()
        else:
            folder = self.settings.home / "dagster"
            folder.mkdir(parents=True, exist_ok=True)
            self.instance = DagsterInstance.from_config(str(folder))
        return self.instance

    def __exit__(self, *exc) -> None:
        self.instance.dispose()


class _EventTracker:
    """Turns the run's events into report steps (with seconds, details and failure messages) and progress calls."""

    def __init__(self, report: PipelineReport, on_step: StepCallback | None, on_event: EventCallback | None) -> None:
        self.report, self.on_step, self.on_event = report, on_step, on_event
        self.started: dict[str, float] = {}
        self.details: dict[str, dict] = {}
        self.warnings: dict[str, list[str]] = {}

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        step, kind = event.step_key, event.event_type_value
        label = step_label(step)
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            self._emit(StepEvent("started", label))
            if self.on_step:
                self.on_step(label)
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.step_materialization_data.materialization
            self.details.setdefault(step, {})[materialization.asset_key.to_user_string()] = {
                name: _plain(value) for name, value in materialization.metadata.items()
            }
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                self.warnings.setdefault(step, []).append(
                    f"{evaluation.asset_check_key.name} ({evaluation.severity.value.lower()})"
                )
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            status = {"STEP_SUCCESS": "ok", "STEP_FAILURE": "failed", "STEP_SKIPPED": "skipped"}[kind]
            seconds = round(time.perf_counter() - self.started.get(step, time.perf_counter()), 2)
            row: dict[str, Any] = {
                "step": label,
                "status": status,
                "seconds": seconds,
                "details": _summary(self.details.get(step, {})),
            }
            if step in self.warnings:
                row["failed_checks"] = self.warnings[step]
            message = _failure_message(event) if status == "failed" else None
            if message:
                row["message"] = message
            if step == "read_snapshot" and status == "ok":
                self.report.snapshot_version = row["details"].get("snapshot_version")
            self.report.steps.append(row)
            self._emit(StepEvent(status, label, seconds, message))

    def _emit(self, event: StepEvent) -> None:
        if self.on_event:
            self.on_event(event)


def _summary(details: dict[str, dict]) -> dict:
    """One asset's metadata as is; several (dbt, raw tables): per asset up to 12, else just how many."""
    if len(details) == 1:
        return next(iter(details.values()))
    if len(details) <= 12:
        return details
    return {"assets": len(details)}


def _failure_message(event) -> str:
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description[:2000]
    error = data.error
    while error is not None and error.cause is not None and "Error occurred while executing" in error.message:
        error = error.cause  # Dagster wraps the user's exception: report the user's message
    return (error.message.strip() if error else "step failed")[:2000]


def _plain(value) -> Any:
    plain = getattr(value, "value", value)
    return plain if isinstance(plain, str | int | float | bool | dict | list | type(None)) else str(plain)


def report_path(settings: Settings) -> Path:
    return settings.home / "status" / "last_pipeline_run.json"


def log_path(settings: Settings) -> Path:
    """dbt's output of the last run (the Dagster events are in the Dagster instance)."""
    return settings.home / "logs" / "last_pipeline_run.log"


def save_report(settings: Settings, report: PipelineReport) -> None:
    write_text_atomically(report_path(settings), json.dumps(report.to_dict(), indent=2, default=str))


def last_report(settings: Settings) -> dict | None:
    path = report_path(settings)
    return json.loads(path.read_text()) if path.exists() else None
