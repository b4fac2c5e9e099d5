"""The ingest domain's definitions (and the pipeline job its sensor and schedule launch)."""

from dagster import Definitions, EnvVar

from orchestration.defs.ingest.assets import INGEST_ASSETS, raw_tables
from orchestration.defs.ingest.jobs import usage_pipeline
from orchestration.defs.ingest.resources import UsageLogsResource
from orchestration.defs.ingest.schedules import daily_ingest
from orchestration.defs.ingest.sensors import new_log_files

defs = Definitions(
    assets=[*INGEST_ASSETS.values(), raw_tables],
    jobs=[usage_pipeline],
    sensors=[new_log_files],
    schedules=[daily_ingest],
    resources={"usage_logs": UsageLogsResource(aioa_home=EnvVar("AIOA_HOME"))},  # paths: AIOA_* settings
)
