"""Sensors of the rules domain: evaluate the rules as soon as a snapshot is published, and start the router's
retraining job when a rule asked for it."""

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from orchestration.defs.rules.jobs import SOURCE_TAG, evaluate_rules, tune_router_threshold
from orchestration.defs.rules.resources import RulesResource


@sensor(
    job=evaluate_rules,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Evaluates the rules once per newly published snapshot (cursor: the snapshot version).",
)
def rules_on_snapshot(context: SensorEvaluationContext, rules: RulesResource):
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot

    try:
        version, _ = current_snapshot(rules.settings())
    except NoSnapshotError:
        return SkipReason("no read snapshot yet")
    if version == context.cursor:
        return SkipReason(f"snapshot {version} was evaluated already")
    context.update_cursor(version)
    return RunRequest(run_key=f"rules-{version}", tags={SOURCE_TAG: "sensor"})


@sensor(
    job_name="router_retraining",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts the router's retraining (promoted only past the champion gate) when a rule requested it.",
)
def rule_requested_retraining(context: SensorEvaluationContext, rules: RulesResource):
    from aioa.rules.requests import take_pending

    taken = take_pending(rules.settings(), "retrain_router")
    if not taken:
        return SkipReason("no retraining requested by a rule")
    return RunRequest(
        run_key="rules-retrain-" + taken[0], tags={"aioa/trigger": "rule", "aioa/requests": ",".join(taken)}
    )


@sensor(
    job=tune_router_threshold,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs the threshold tuner when a rule asked to set or tune the router's threshold.",
)
def rule_requested_threshold(context: SensorEvaluationContext, rules: RulesResource):
    from aioa.rules.requests import pending

    waiting = [item["id"] for item in pending(rules.settings()) if item["kind"] == "set_router_threshold"]
    if not waiting:
        return SkipReason("no threshold change requested by a rule")
    return RunRequest(run_key="rules-threshold-" + waiting[-1], tags={"aioa/trigger": "rule"})
