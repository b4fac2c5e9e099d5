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
RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1.0}  # about 1.5 s, then give up


class BrokerUnavailable(RuntimeError):
    """The job was not sent (the broker did not answer): nothing will run it later."""


class NoWorkerAnswered(TimeoutError):
    """The job was sent but no worker finished it in time; it expires unstarted so it cannot run after the caller
    recorded the failure (one already running finishes)."""


def run_job(settings: Settings, name: str, **arguments):
    """The job's result; its exception when it failed (on a worker: re-raised here)."""
    if name not in JOBS:
        raise KeyError(f"no job {name!r}: choose one of {', '.join(JOBS)}")
    if not settings.celery_broker_url:
        return JOBS[name](settings, **arguments)
    with _lock:
        app = celery_app(settings.celery_broker_url, settings.celery_queue, submitting=True)
    from celery.exceptions import TimeoutError as CeleryTimeout
    from kombu.utils.url import maybe_sanitize_url

    try:
        result = app.send_task(
            TASK_PREFIX + name,
            kwargs=arguments,
            queue=settings.celery_queue,
            expires=settings.celery_timeout_s,  # a worker that gets it later drops it: the caller has given up
            retry_policy=RETRY,
        )
    except Exception as error:  # kombu's OperationalError, or the result backend's RuntimeError after its retries
        with _lock:
            celery_app.cache_clear()  # a Redis result backend that gave up stays broken: the next job builds a new app
        broker = maybe_sanitize_url(settings.celery_broker_url)
        raise BrokerUnavailable(
            f"the Celery broker {broker} is unreachable, job {name!r} was not sent: {type(error).__name__}: "
            + " ".join(str(error).split())
        ) from error
    try:
        # a caller may itself be a Celery task (a Dagster step on a step worker evaluating rules): waiting is safe
        # there, the job runs on the jobs' queue and workers, never on the caller's own
        return result.get(timeout=settings.celery_timeout_s, disable_sync_subtasks=False)
    except CeleryTimeout as error:
        raise NoWorkerAnswered(
            f"no Celery worker on queue {settings.celery_queue!r} finished job {name!r} within "
            f"{settings.celery_timeout_s:g} s"
        ) from error
    finally:
        result.forget()


@lru_cache(maxsize=8)
def celery_app(broker_url: str, queue: str, *, submitting: bool = False) -> Celery:
    """A Celery app for this broker: results in Redis for a Redis broker, over the broker itself (rpc) for RabbitMQ;
    JSON messages only; a job is acknowledged after it ran, so a worker that dies mid-job leaves it to another.
    `submitting`: the caller's app, which gives up on an unreachable broker after about 1.5 s (workers keep
    Celery's patient reconnects)."""
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
    if submitting:
        app.conf.update(
            task_publish_retry_policy=RETRY,
            result_backend_transport_options={"retry_policy": RETRY},
            redis_socket_connect_timeout=5,
        )
    return app
