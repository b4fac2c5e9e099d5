"""A real Celery worker process for tests, on a queue of its own over the machine's Redis or RabbitMQ; always
stopped. `celery_worker` runs aioa's jobs (`aioa.jobs.worker`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aioa.settings import PROJECT_ROOT, Settings

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
    command = [
        str(Path(sys.executable).with_name("celery")),
        *("-A", "aioa.jobs.worker", "worker", "-Q", queue, "-n", f"{queue}@localhost"),
        *("--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "warning"),
    ]
    with stopped_at_exit(command, environment, tmp_path / f"{queue}.log"):
        yield Settings(
            home=home,
            database_url=environment["AIOA_DATABASE_URL"],
            celery_broker_url=broker,
            celery_queue=queue,
            celery_timeout_s=90,
        )


@contextmanager
def stopped_at_exit(command: list[str], environment: dict, log_path: Path) -> Iterator[subprocess.Popen]:
    """`command` running in the project root (output to `log_path`); terminated, then killed, when the block ends."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def dagster_step_worker(queue: str, tmp_path: Path, environment: dict[str, str]) -> Iterator[str]:
    """A Dagster step worker (`celery -A orchestration.step_worker worker`) reading `queue`; yields its name."""
    name = f"{queue}@localhost"
    command = [
        str(Path(sys.executable).with_name("celery")),
        *("-A", "orchestration.step_worker", "worker", "-Q", queue, "-n", name, "--concurrency", "1"),
        *("--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "warning"),
    ]
    with stopped_at_exit(command, {**os.environ, **environment}, tmp_path / f"{queue}.log"):
        yield name
