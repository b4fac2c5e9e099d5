"""Dagster steps on Celery (AIOA_DAGSTER_EXECUTOR=celery): real step worker processes (`celery -A
orchestration.step_worker worker`) on the machine's Redis and RabbitMQ run a job's steps, a reading step on the
steps' queue and a warehouse-writer step on the writers' queue; the run's outputs pass between them through the
instance's storage. The code location's real rules job runs its step on a step worker, which submits the scheduled
report to an aioa jobs worker. The default executor stays in-process."""

from __future__ import annotations

import os

import pytest
from dagster import DagsterEventType, DagsterInstance, execute_job, reconstructable
from orchestration.executor import celery_config, executor, step_queues

from aioa.settings import PROJECT_ROOT, Settings
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


def test_the_rules_job_runs_on_a_step_worker_and_its_scheduled_report_on_a_jobs_worker(built_home, tmp_path):
    """The real `evaluate_rules` job's step on a dagster-celery step worker; the schedule rule it evaluates fires and
    its report is rendered and emailed by an aioa jobs worker: Dagster step -> Celery job -> SMTP."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from aioa.rules.store import save_rule
    from tests.jobs.test_scheduled_reports import recorded_actions, report_rule, smtp_environment
    from tests.jobs.worker import celery_worker
    from tests.rules.smtp import SmtpServer

    broker = BROKERS["redis"]
    (tmp_path / "dagster").mkdir()
    with SmtpServer() as smtp, celery_worker(broker, built_home, tmp_path, **smtp_environment(smtp.port)) as settings:
        save_rule(settings, "acme", report_rule())
        environment = {
            "AIOA_HOME": str(built_home),
            "AIOA_DATABASE_URL": settings.database_url,
            "AIOA_CELERY_BROKER_URL": broker,
            "AIOA_CELERY_QUEUE": settings.celery_queue,
            "DAGSTER_HOME": str(tmp_path / "dagster"),
        }
        steps, _ = step_queues(settings)
        repository = ReconstructableRepository.for_module(
            "tests.jobs.dagster_steps", "rules_definitions", working_directory=str(PROJECT_ROOT)
        )
        job = repository.get_reconstructable_job("evaluate_rules")
        with (
            DagsterInstance.local_temp(str(tmp_path / "dagster")) as instance,
            dagster_step_worker(steps, tmp_path, environment) as steps_worker,
            pytest.MonkeyPatch.context() as patch,
        ):
            for name, value in environment.items():
                patch.setenv(name, value)
            config = {"execution": {"config": celery_config(settings)}}
            with execute_job(job, instance, run_config=config) as result:
                assert result.success, [event.message for event in result.all_events if event.is_failure]
                summary = result.output_for_node("evaluate_rules_op")
                ran_on = [
                    event.event_specific_data.metadata["Celery worker"].value
                    for event in result.all_events
                    if event.event_type == DagsterEventType.ENGINE_EVENT and "in celery worker" in (event.message or "")
                ]
        (message,) = smtp.inbox.messages
    assert ran_on == [steps_worker]
    assert summary["rules"] == 1 and summary["fired"] == 1 and summary["errors"] == []
    ((action,),) = recorded_actions(settings)
    assert action["status"] == "sent" and action["emailed_to"] == ["leads@acme.example"], action
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == action["file_name"]
