"""Pipeline and watcher metrics for Prometheus, read from the state they leave under AIOA_HOME.

Pipeline steps run in many short processes (the `aioa run` process, Dagster run workers, the watcher), so in-process
counters would die with them. Instead `PipelineCollector` derives every sample at scrape time from what those
processes persist: the ingest runs table of the current snapshot (rows added, quarantined and runs per source: monotonic
counters by construction, cached per immutable snapshot version), the snapshot pointer (age), the newest event in the
snapshot (ingest lag) and the last pipeline report (step durations, outcome). Expose it on a port with
`aioa metrics serve` (a sidecar of the Dagster daemon or the watcher, or `start_metrics_server()` inside a
long-running process when `AIOA_METRICS_PORT` is set), or as a node_exporter textfile with `aioa metrics write`.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from aioa.ops.service_metrics import ServiceCollector
from aioa.settings import Settings
from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot, snapshot_dir

_server_lock = threading.Lock()
_server_started: set[int] = set()


class PipelineCollector(Collector):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cached: tuple[str, dict] | None = None  # (snapshot version, its figures)

    def collect(self):
        now = time.time()
        snapshot_age = GaugeMetricFamily(
            "aioa_snapshot_age_seconds", "Seconds since the current read snapshot was published."
        )
        lag = GaugeMetricFamily(
            "aioa_ingest_lag_seconds", "Seconds between now and the newest LLM call in the current snapshot."
        )
        rows = CounterMetricFamily("aioa_ingest_rows", "Rows added by ingests, per source.", labels=["source"])
        quarantined = CounterMetricFamily(
            "aioa_ingest_quarantined", "Input lines or files rejected into quarantine, per source.", labels=["source"]
        )
        runs = CounterMetricFamily(
            "aioa_ingest_runs", "Ingest runs per source and outcome.", labels=["source", "status"]
        )
        last_ingest = GaugeMetricFamily(
            "aioa_ingest_last_success_timestamp_seconds", "When the last successful ingest finished.", labels=["source"]
        )
        try:
            version, path = current_snapshot(self.settings)
            pointer = json.loads((snapshot_dir(self.settings) / "CURRENT").read_text())
            snapshot_age.add_metric([], now - datetime.fromisoformat(pointer["published_at"]).timestamp())
            figures = self._figures(version, path)
        except (NoSnapshotError, FileNotFoundError):
            figures = None
        if figures is not None:
            if figures["newest_call"] is not None:
                lag.add_metric([], now - figures["newest_call"])
            for source, status, added, rejected, count, finished in figures["runs"]:
                runs.add_metric([source, status], count)
                if status == "ok":
                    rows.add_metric([source], added)
                    quarantined.add_metric([source], rejected)
                    if finished is not None:
                        last_ingest.add_metric([source], finished)
        yield from (snapshot_age, lag, rows, quarantined, runs, last_ingest)
        yield from self._pipeline_families()

    def _figures(self, version: str, path: Path) -> dict:
        if self._cached and self._cached[0] == version:
            return self._cached[1]
        from aioa.warehouse.connection import connect_reader

        with connect_reader(path, self.settings) as connection:
            runs = connection.execute(
                "select source_system, status, sum(rows_added + rows_updated), sum(quarantined), count(*), "
                "epoch(max(finished_at)) from raw.ingest_runs group by all order by all"
            ).fetchall()
            newest = connection.execute("select epoch(max(ts_utc)) from raw.llm_calls").fetchone()[0]
        figures = {"runs": runs, "newest_call": newest}
        self._cached = (version, figures)
        return figures

    def _pipeline_families(self):
        from aioa.pipeline import last_report

        steps = GaugeMetricFamily(
            "aioa_pipeline_step_duration_seconds",
            "Seconds each step of the last pipeline run took.",
            labels=["step", "status"],
        )
        success = GaugeMetricFamily("aioa_pipeline_last_run_success", "1 if the last pipeline run succeeded, else 0.")
        started = GaugeMetricFamily("aioa_pipeline_last_run_timestamp_seconds", "When the last pipeline run started.")
        report = last_report(self.settings)
        if report is not None:
            for step in report.get("steps", []):
                steps.add_metric([step["step"], step["status"]], step["seconds"])
            success.add_metric([], 1.0 if report["status"] == "ok" else 0.0)
            started.add_metric([], datetime.fromisoformat(report["started_at"]).timestamp())
        yield from (steps, success, started)


def pipeline_registry(settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(PipelineCollector(settings))
    registry.register(ServiceCollector(settings))  # MCP server status, notification deliveries
    return registry


def start_metrics_server(settings: Settings, port: int | None = None, address: str = "0.0.0.0") -> int | None:  # noqa: S104
    """Serve the pipeline metrics on `port` (default AIOA_METRICS_PORT) from a daemon thread, once per process."""
    port = port or settings.metrics_port
    if port is None:
        return None
    with _server_lock:
        if port not in _server_started:
            start_http_server(port, addr=address, registry=pipeline_registry(settings))
            _server_started.add(port)
    return port


def write_textfile(settings: Settings, path: Path) -> None:
    """The same samples as a node_exporter textfile (written atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), pipeline_registry(settings))
