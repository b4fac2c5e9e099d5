"""A real Celery worker process for tests, on a queue of its own over the machine's Redis or RabbitMQ; always
stopped. `celery_worker` runs aioa's jobs (`aioa.jobs.worker`)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aioa.settings import PROJECT_ROOT, Settings
from tests.servers import running

BROKERS = {"redis": "redis://127.0.0.1:6379/3", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}


def new_queue() -> str:
    return f"aioa-test-{uuid.uuid4().hex[:12]}"


@contextmanager
def celery_worker(
    broker: str, home: Path, tmp_path: Path, *, queue: str | None = None, **environment: str
) -> Iterator[Settings]:
    """A Celery worker process on `queue` (default: a new one), over `home`; yields the submitting settings."""
    queue = queue or new_queue()
    environment = {
        **os.environ,
        "AIOA_HOME": str(home),
        "AIOA_DATABASE_URL": f"sqlite:///{tmp_path / 'identity.db'}",
        "AIOA_CELERY_BROKER_URL": broker,
        "AIOA_CELERY_QUEUE": queue,
        **environment,
    }
    command = _celery_worker_command("aioa.jobs.worker", queue, f"{queue}@localhost")
    with running(command, env=environment, cwd=PROJECT_ROOT, log=tmp_path / f"{queue}.log"):
        yield Settings(
            home=home,
            database_url=environment["AIOA_DATABASE_URL"],
            celery_broker_url=broker,
            celery_queue=queue,
            celery_timeout_s=90,
        )


@contextmanager
def dagster_step_worker(queue: str, tmp_path: Path, environment: dict[str, str]) -> Iterator[str]:
    """A Dagster step worker (`celery -A orchestration.step_worker worker`) reading `queue`; yields its name."""
    name = f"{queue}@localhost"
    command = _celery_worker_command("orchestration.step_worker", queue, name, "--concurrency", "1")
    with running(command, env={**os.environ, **environment}, cwd=PROJECT_ROOT, log=tmp_path / f"{queue}.log"):
        yield name


def _celery_worker_command(app: str, queue: str, name: str, *options: str) -> list[str]:
    """`celery -A app worker` reading `queue` only, in its own process, logging warnings only."""
    return [
        str(Path(sys.executable).with_name("celery")),
        *("-A", app, "worker", "-Q", queue, "-n", name, *options),
        *("--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "warning"),
    ]
