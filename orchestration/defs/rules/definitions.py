"""The rules domain's definitions: the evaluation job, its schedule, the snapshot sensor, and the bridges to the
router's retraining and threshold tuner."""

from dagster import Definitions, EnvVar

from orchestration.defs.rules.jobs import evaluate_rules, tune_router_threshold
from orchestration.defs.rules.resources import RulesResource
from orchestration.defs.rules.schedules import rules_every_five_minutes
from orchestration.defs.rules.sensors import rule_requested_retraining, rule_requested_threshold, rules_on_snapshot

defs = Definitions(
    jobs=[evaluate_rules, tune_router_threshold],
    schedules=[rules_every_five_minutes],
    sensors=[rules_on_snapshot, rule_requested_retraining, rule_requested_threshold],
    resources={"rules": RulesResource(aioa_home=EnvVar("AIOA_HOME"))},
)
