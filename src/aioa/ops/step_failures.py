"""Steps that keep failing: from Dagster's run storage (the instance `aioa run`, the sensors and the schedules record
their runs in), each step of the watched jobs that failed in its last N runs in a row, after its retries. The rules
engine's `pipeline_step_failing` trigger turns them into incidents (self-healing gives up: a person must look)."""

from __future__ import annotations

from datetime import UTC, datetime

from aioa.settings import Settings

WATCHED_JOBS = ("usage_pipeline", "router_retraining")


def failing_steps(settings: Settings, jobs: list[str], consecutive_runs: int, window: int = 20) -> list[dict]:
    """Per job and step: the failure streak (newest runs first, up to a run where the step succeeded) when it is at
    least `consecutive_runs` long; [] without a Dagster instance."""
    from aioa.pipeline_runs import dagster_home

    home = dagster_home(settings)
    if home is None or not home.is_dir():
        return []
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

    from aioa.pipeline import _failure_message, step_label

    instance = DagsterInstance.from_config(str(home))
    found = []
    try:
        for job in jobs:
            finished = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE]
            records = instance.get_run_records(RunsFilter(job_name=job, statuses=finished), limit=window)
            streaks: dict[str, list[dict]] = {}
            done: set[str] = set()  # steps whose streak ended (a newer success was seen first)
            for record in records:  # newest first; a run where the step did not run neither extends nor ends it
                run = record.dagster_run
                events = instance.all_logs(
                    run.run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SUCCESS}
                )
                for event in events:
                    step = event.dagster_event.step_key
                    if step in done:
                        continue
                    if event.dagster_event.event_type == DagsterEventType.STEP_SUCCESS:
                        done.add(step)
                        continue
                    streaks.setdefault(step, []).append(
                        {
                            "run_id": run.run_id,
                            "at": datetime.fromtimestamp(event.timestamp, UTC),
                            "error": _failure_message(event.dagster_event).splitlines()[0][:300],
                        }
                    )
            for step, failures in streaks.items():
                if len(failures) >= consecutive_runs:
                    found.append(
                        {
                            "job": job,
                            "step": step_label(step),
                            "failures": float(len(failures)),
                            "last_error": failures[0]["error"],
                            "last_failed_at": failures[0]["at"],
                            "first_failed_at": failures[-1]["at"],
                            "first_run_id": failures[-1]["run_id"],
                        }
                    )
    finally:
        instance.dispose()
    return found
