"""The rules domain's definitions: the evaluation job, its schedule, the snapshot sensor and the retraining bridge."""

from dagster import Definitions, EnvVar

from orchestration.defs.rules.jobs import evaluate_rules
from orchestration.defs.rules.resources import RulesResource
from orchestration.defs.rules.schedules import rules_every_five_minutes
from orchestration.defs.rules.sensors import rule_requested_retraining, rules_on_snapshot

defs = Definitions(
    jobs=[evaluate_rules],
    schedules=[rules_every_five_minutes],
    sensors=[rules_on_snapshot, rule_requested_retraining],
    resources={"rules": RulesResource(aioa_home=EnvVar("AIOA_HOME"))},
)
