"""The pipeline as one job: every asset of the code location, in dependency order (ingest → raw → dbt models and
tests → quality checks → ML → read snapshot). `aioa run`, the sensor and the schedule all run this job."""

from dagster import AssetSelection, define_asset_job

PIPELINE_JOB = "usage_pipeline"

usage_pipeline = define_asset_job(
    PIPELINE_JOB,
    selection=AssetSelection.all(),
    description="Ingest new log lines, rebuild and test the marts, check them, run the ML, publish one snapshot.",
    tags={"aioa/pipeline": "usage"},
)  # a run queue can allow one such run at a time
