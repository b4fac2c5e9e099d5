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
