"""A small Dagster job for the step-worker tests: a reading step, then a warehouse-writer step (WRITER_TAG) that
takes its output; each step answers with the process that ran it. It runs on the executor AIOA_DAGSTER_EXECUTOR
names, as the code location's jobs do."""

from __future__ import annotations

import os

from dagster import job, op
from orchestration.executor import WRITER_TAG, celery_steps_executor


@op
def read_step() -> dict:
    return {"pid": os.getpid(), "rows": 21}


@op(tags=WRITER_TAG)
def write_step(read: dict) -> dict:
    return {"pid": os.getpid(), "rows": read["rows"] * 2, "read_pid": read["pid"]}


@job(executor_def=celery_steps_executor)
def two_steps():
    write_step(read_step())


def _rules_definitions():
    """The code location's real rules job (`evaluate_rules`), bound as its Definitions bind it, on the Celery steps
    executor, without loading the whole code location (dbt's manifest and every asset) in the test."""
    from dagster import Definitions, EnvVar
    from orchestration.defs.rules.jobs import evaluate_rules
    from orchestration.defs.rules.resources import RulesResource

    return Definitions(
        jobs=[evaluate_rules],
        resources={"rules": RulesResource(aioa_home=EnvVar("AIOA_HOME"))},
        executor=celery_steps_executor,
    )


rules_definitions = _rules_definitions()
