"""Run a job where the settings say: on a Celery worker (the caller waits up to AIOA_CELERY_TIMEOUT_S for its
outcome, so what it records stays true) or, without a broker, right here."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from aioa.jobs.tasks import JOBS
from aioa.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

TASK_PREFIX = "aioa."
_lock = threading.Lock()


def run_job(settings: Settings, name: str, **arguments):
    """The job's result; its exception when it failed (on a worker: re-raised here)."""
    if name not in JOBS:
        raise KeyError(f"no job {name!r}: choose one of {', '.join(JOBS)}")
    if not settings.celery_broker_url:
        return JOBS[name](settings, **arguments)
    with _lock:
        app = celery_app(settings.celery_broker_url, settings.celery_queue)
    result = app.send_task(TASK_PREFIX + name, kwargs=arguments, queue=settings.celery_queue)
    try:
        return result.get(timeout=settings.celery_timeout_s)
    finally:
        result.forget()


@lru_cache(maxsize=8)
def celery_app(broker_url: str, queue: str) -> Celery:
    """A Celery app for this broker: results in Redis for a Redis broker, over the broker itself (rpc) for RabbitMQ;
    JSON messages only; a job is acknowledged after it ran, so a worker that dies mid-job leaves it to another."""
    from celery import Celery  # not imported by callers that run jobs in-process

    backend = broker_url if broker_url.startswith(("redis://", "rediss://")) else "rpc://"
    app = Celery("aioa", broker=broker_url, backend=backend, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app
