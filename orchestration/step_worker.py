"""The Celery app of the Dagster step workers (AIOA_DAGSTER_EXECUTOR=celery), configured from the same settings as the
executor: `celery -A orchestration.step_worker worker -Q aioa.dagster` for the steps and, in one worker with
`--concurrency 1`, `-Q aioa.dagster-writer` for the warehouse writers (queue names follow AIOA_CELERY_QUEUE).
A worker runs dagster-celery's `execute_step` task: it loads the run's job from this code location and the run's
Dagster instance (DAGSTER_HOME or the PostgreSQL storage the run names), runs the step and reports its events."""

from __future__ import annotations

from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from aioa.settings import Settings
from orchestration.executor import celery_config

_config = celery_config(Settings())
_config.pop("writer_queue")
app = make_app(CeleryExecutor(retries=RetryMode(RetryMode.DISABLED), **_config).app_args())
app.conf.update(worker_hijack_root_logger=False)
execute_plan = create_task(app)
