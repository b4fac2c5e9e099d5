"""Self-healing and its alarm: ingest and router steps carry the retry policy; a step that fails once and then
succeeds heals within its run and raises nothing; a step that fails in three runs in a row (after its retries) opens
one `pipeline_step_failing` incident, read from Dagster's own run storage, and a fourth failure joins it."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance, Failure, RetryPolicy, job, op
from orchestration.retries import STEP_RETRY

from aioa.rules.engine import evaluate_all
from aioa.rules.incidents import incident_data, list_incidents
from aioa.rules.store import save_rule
from aioa.settings import Settings

QUICK_RETRY = RetryPolicy(max_retries=2)  # STEP_RETRY's count without its 10 s delays


def test_ingest_and_router_steps_retry():
    from orchestration.defs.ingest.assets import INGEST_ASSETS
    from orchestration.defs.ml.assets import router
    from orchestration.defs.rules.jobs import evaluate_rules_op

    for asset in [*INGEST_ASSETS.values(), router]:
        assert asset.op.retry_policy == STEP_RETRY
    assert evaluate_rules_op.retry_policy == STEP_RETRY
    assert STEP_RETRY.max_retries == 2 and STEP_RETRY.delay == 10


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "dagster"
    folder.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(folder))
    return folder


attempts = {"flaky": 0}


@op(retry_policy=QUICK_RETRY)
def flaky_ingest():
    attempts["flaky"] += 1
    if attempts["flaky"] < 2:
        raise OSError("file still being written")


@op(retry_policy=QUICK_RETRY)
def broken_publish():
    raise Failure(description="snapshot folder is read-only\nmore detail")


@job
def flaky_job():
    flaky_ingest()


@job
def broken_job():
    broken_publish()


def test_a_step_that_keeps_failing_opens_one_incident_and_a_healed_one_none(dagster_home, tmp_path, monkeypatch):
    settings = Settings(home=tmp_path / "home")
    monkeypatch.setenv("AIOA_HOME", str(settings.home))
    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        healed = flaky_job.execute_in_process(instance=instance, raise_on_error=False)
        assert healed.success and attempts["flaky"] == 2  # failed once, retried, succeeded
        for _ in range(2):
            assert not broken_job.execute_in_process(instance=instance, raise_on_error=False).success
        rule = {
            "name": "step-failing",
            "severity": "critical",
            "trigger": {"kind": "pipeline_step_failing", "jobs": ["flaky_job", "broken_job"], "consecutive_runs": 3},
            "actions": [{"type": "notify", "channels": ["json://127.0.0.1:9/never"]}],
        }
        save_rule(settings, "acme", rule)
        (result,) = evaluate_all(settings, "acme")
        assert not result.fired and result.matches == 0  # two failures are not yet "keeps failing"

        assert not broken_job.execute_in_process(instance=instance, raise_on_error=False).success
        (result,) = evaluate_all(settings, "acme")
        assert result.fired and result.matches == 1
        (incident,) = [incident_data(row) for row in list_incidents(settings, "acme")]
        assert incident["group"] == {"job": "broken_job", "step": "broken_publish"}
        assert incident["summary"]["failures"] == 3.0
        assert incident["summary"]["last_error"] == "snapshot folder is read-only"

        assert not broken_job.execute_in_process(instance=instance, raise_on_error=False).success
        (result,) = evaluate_all(settings, "acme")
        assert not result.fired  # the same streak: no second incident
        (incident,) = list_incidents(settings, "acme")
    finally:
        instance.dispose()
