"""The executor, chosen by the setting AIOA_DAGSTER_EXECUTOR.

`in_process` (default): steps run one after another in the run's process: no per-step start-up cost, and one
writer at a time by construction. `multiprocess`: steps run in parallel processes, except that steps tagged as
warehouse writers run one at a time (DuckDB allows one writer process); read-only steps stay parallel. On a cluster
the same tag limits apply to the Celery/Kubernetes executors (docs/deployment.md).
"""

from dagster import in_process_executor, multiprocess_executor

from aioa.settings import Settings

WRITER_TAG = {"aioa/warehouse": "writer"}
WRITER_LIMITS = [{"key": "aioa/warehouse", "value": "writer", "limit": 1}]


def executor():
    if Settings().dagster_executor == "multiprocess":
        return multiprocess_executor.configured({"tag_concurrency_limits": WRITER_LIMITS})
    return in_process_executor
