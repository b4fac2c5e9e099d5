"""The ingest domain's definitions."""

from dagster import Definitions, EnvVar

from orchestration.defs.ingest.assets import INGEST_ASSETS, raw_tables
from orchestration.defs.ingest.resources import UsageLogsResource
from orchestration.defs.ingest.schedules import daily_ingest
from orchestration.defs.ingest.sensors import ingest_job, new_log_files

defs = Definitions(
    assets=[*INGEST_ASSETS, raw_tables],
    jobs=[ingest_job],
    sensors=[new_log_files],
    schedules=[daily_ingest],
    resources={
        "usage_logs": UsageLogsResource(
            aioa_home=EnvVar("AIOA_HOME"),
            claude_code_dirs=EnvVar("AIOA_CLAUDE_CODE_DIRS"),
            handoff_paths=EnvVar("AIOA_HANDOFF_PATHS"),
            otel_paths=EnvVar("AIOA_OTEL_PATHS"),
        )
    },
)
