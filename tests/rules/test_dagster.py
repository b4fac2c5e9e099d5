"""The rules domain in Dagster: the snapshot sensor asks for one evaluation per published snapshot, the job
evaluates every enabled rule and records each evaluation with its source, and a rule's retraining request starts
the router's retraining job once."""

from __future__ import annotations

from dagster import RunRequest, SkipReason, build_sensor_context
from orchestration.defs.rules.jobs import SOURCE_TAG, evaluate_rules
from orchestration.defs.rules.resources import RulesResource
from orchestration.defs.rules.sensors import rule_requested_retraining, rules_on_snapshot
from sqlalchemy import select

from aioa.identity.store import session_scope
from aioa.rules.models import RuleEvaluation
from aioa.rules.store import save_rule
from aioa.settings import Settings
from aioa.warehouse.snapshots import current_snapshot
from tests.rules.sample_snapshot import anomaly, write_snapshot


def test_snapshot_sensor_job_and_retraining_bridge(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("AIOA_HOME", str(home))
    settings = Settings(home=home)
    resource = RulesResource(aioa_home=str(home))
    assert isinstance(rules_on_snapshot(build_sensor_context(resources={"rules": resource})), SkipReason)

    write_snapshot(settings, [anomaly("acme", index) for index in range(5)])
    save_rule(
        settings,
        "acme",
        {
            "name": "runaway-retrain",
            "trigger": {"kind": "anomaly_detected", "anomaly_kinds": ["runaway_agent"]},
            "actions": [{"type": "retrain_router"}],
        },
    )
    version, _ = current_snapshot(settings)
    request = rules_on_snapshot(build_sensor_context(resources={"rules": resource}))
    assert isinstance(request, RunRequest) and request.run_key == f"rules-{version}"
    assert request.tags == {SOURCE_TAG: "sensor"}
    again = rules_on_snapshot(build_sensor_context(cursor=version, resources={"rules": resource}))
    assert isinstance(again, SkipReason)

    run = evaluate_rules.execute_in_process(resources={"rules": resource}, tags=request.tags)
    assert run.success
    assert run.output_for_node("evaluate_rules_op") == {
        "rules": 1,
        "fired": 1,
        "errors": [],
        "deliveries_attempted": 0,
    }
    with session_scope(settings, write=False) as session:
        (evaluation,) = session.scalars(select(RuleEvaluation))
        assert (evaluation.source, evaluation.fired, evaluation.matches) == ("sensor", True, 5)

    retrain = rule_requested_retraining(build_sensor_context(resources={"rules": resource}))
    assert isinstance(retrain, RunRequest) and retrain.tags["aioa/trigger"] == "rule"
    assert isinstance(rule_requested_retraining(build_sensor_context(resources={"rules": resource})), SkipReason)
