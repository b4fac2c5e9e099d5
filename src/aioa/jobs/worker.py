"""The Celery worker's app: `celery -A aioa.jobs.worker worker -Q $AIOA_CELERY_QUEUE`. Every job of
`aioa.jobs.tasks.JOBS` is a task named `aioa.<job>`; each run reads the settings from the worker's environment."""

from __future__ import annotations

from aioa.jobs.run import TASK_PREFIX, celery_app
from aioa.jobs.tasks import JOBS
from aioa.settings import Settings

_settings = Settings()
if not _settings.celery_broker_url:
    raise SystemExit("AIOA_CELERY_BROKER_URL is not set: name the Redis (redis://…) or RabbitMQ (amqp://…) broker")
app = celery_app(_settings.celery_broker_url, _settings.celery_queue)


def _register(name: str, job) -> None:
    @app.task(name=TASK_PREFIX + name)
    def task(**arguments):
        return job(Settings(), **arguments)


for _name, _job in JOBS.items():
    _register(_name, _job)
