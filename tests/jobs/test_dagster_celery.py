"""Dagster steps on Celery (AIOA_DAGSTER_EXECUTOR=celery): real step worker processes (`celery -A
orchestration.step_worker worker`) on the machine's Redis and RabbitMQ run a job's steps, a reading step on the
steps' queue and a warehouse-writer step on the writers' queue; the run's outputs pass between them through the
instance's storage. The default executor stays in-process."""

from __future__ import annotations

import os

import pytest
from dagster import DagsterEventType, DagsterInstance, execute_job, reconstructable
from orchestration.executor import celery_config, executor, step_queues

from aioa.settings import Settings
from tests.jobs.dagster_steps import two_steps
from tests.jobs.worker import BROKERS, dagster_step_worker, new_queue


def test_the_default_executor_is_unchanged(monkeypatch):
    monkeypatch.delenv("AIOA_DAGSTER_EXECUTOR", raising=False)
    assert executor().name == "in_process"
    monkeypatch.setenv("AIOA_DAGSTER_EXECUTOR", "celery")
    monkeypatch.delenv("AIOA_CELERY_BROKER_URL", raising=False)
    with pytest.raises(ValueError, match="needs AIOA_CELERY_BROKER_URL"):
        executor()


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_steps_run_on_celery_step_workers_writers_on_their_own_queue(broker, tmp_path):
    queue = new_queue()
    settings = Settings(home=tmp_path / "home", celery_broker_url=BROKERS[broker], celery_queue=queue)
    steps, writers = step_queues(settings)
    environment = {
        "AIOA_HOME": str(settings.home),
        "AIOA_CELERY_BROKER_URL": BROKERS[broker],
        "AIOA_CELERY_QUEUE": queue,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    (tmp_path / "dagster").mkdir()
    config = celery_config(settings)
    assert config["config_source"]["task_default_queue"] == steps and config["writer_queue"] == writers
    with (
        DagsterInstance.local_temp(str(tmp_path / "dagster")) as instance,
        dagster_step_worker(steps, tmp_path, environment) as steps_worker,
        dagster_step_worker(writers, tmp_path, environment) as writers_worker,
        execute_job(reconstructable(two_steps), instance, run_config={"execution": {"config": config}}) as result,
    ):
        assert result.success, [event.message for event in result.all_events if event.is_failure]
        read, written = result.output_for_node("read_step"), result.output_for_node("write_step")
        ran_on = {
            event.step_key: event.event_specific_data.metadata["Celery worker"].value
            for event in result.all_events
            if event.event_type == DagsterEventType.ENGINE_EVENT and "in celery worker" in (event.message or "")
        }
    assert written["rows"] == 42 and written["read_pid"] == read["pid"]
    assert len({os.getpid(), read["pid"], written["pid"]}) == 3  # each step in its own worker, none here
    assert ran_on == {"read_step": steps_worker, "write_step": writers_worker}
