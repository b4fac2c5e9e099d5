"""The executor, chosen by the setting AIOA_DAGSTER_EXECUTOR.

`in_process` (default): steps run one after another in the run's process: no per-step start-up cost, and one
writer at a time by construction. `multiprocess`: steps run in parallel processes, except that steps tagged as
warehouse writers run one at a time (DuckDB allows one writer process); read-only steps stay parallel. `celery`:
each step is a Celery task (dagster-celery) on the broker AIOA_CELERY_BROKER_URL, run by the step workers
(`celery -A orchestration.step_worker worker`); steps tagged as warehouse writers go to their own queue, which one
worker with concurrency 1 reads, so the one-writer rule holds across runs too (docs/deployment.md).
"""

from dagster import Field, in_process_executor, multiple_process_executor_requirements, multiprocess_executor
from dagster import executor as dagster_executor
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

from aioa.settings import Settings

WRITER_TAG = {"aioa/warehouse": "writer"}
WRITER_LIMITS = [{"key": "aioa/warehouse", "value": "writer", "limit": 1}]


def executor():
    settings = Settings()
    if settings.dagster_executor == "celery":
        return celery_steps_executor.configured(celery_config(settings))
    if settings.dagster_executor == "multiprocess":
        return multiprocess_executor.configured({"tag_concurrency_limits": WRITER_LIMITS})
    return in_process_executor


def step_queues(settings: Settings) -> tuple[str, str]:
    """(the steps' queue, the warehouse writers' queue), named after AIOA_CELERY_QUEUE."""
    return f"{settings.celery_queue}.dagster", f"{settings.celery_queue}.dagster-writer"


def celery_config(settings: Settings) -> dict:
    """The dagster-celery executor's config from our settings: the jobs' broker, results in the same Redis (or over
    RabbitMQ, rpc), the steps' queue by default."""
    broker = settings.celery_broker_url
    if not broker:
        raise ValueError("AIOA_DAGSTER_EXECUTOR=celery needs AIOA_CELERY_BROKER_URL (redis://… or amqp://…)")
    steps, writers = step_queues(settings)
    backend = broker if broker.startswith(("redis://", "rediss://")) else "rpc://"
    return {
        "broker": broker,
        "backend": backend,
        "config_source": {"task_default_queue": steps},
        "writer_queue": writers,
    }


class _CeleryStepsExecutor(CeleryExecutor):
    """dagster-celery's executor, but a warehouse writer step (WRITER_TAG) without a queue tag of its own goes to the
    writers' queue."""

    def __init__(self, writer_queue: str, **arguments) -> None:
        super().__init__(**arguments)
        self.writer_queue = writer_queue

    def execute(self, plan_context, execution_plan):
        from dagster_celery.core_execution_loop import core_celery_execution_loop
        from dagster_celery.executor import _submit_task

        def submit(app, context, step, queue, priority, known_state):
            key, value = next(iter(WRITER_TAG.items()))
            if step.tags.get(key) == value and DAGSTER_CELERY_QUEUE_TAG not in step.tags:
                queue = self.writer_queue
            return _submit_task(app, context, step, queue, priority, known_state)

        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=submit)


@dagster_executor(
    name="celery_steps",
    config_schema={
        **CELERY_CONFIG,
        "writer_queue": Field(str, is_required=False, default_value="dagster-writer", description="Writers' queue."),
    },
    requirements=multiple_process_executor_requirements(),
)
def celery_steps_executor(init_context):
    config = init_context.executor_config
    return _CeleryStepsExecutor(
        writer_queue=config["writer_queue"],
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),
    )
