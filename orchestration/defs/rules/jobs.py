"""One job evaluates every enabled rule of every org against the current snapshot, then attempts the webhook
deliveries that are due; each rule's evaluation is recorded in the store (`rule_evaluations`)."""

from dagster import OpExecutionContext, job, op

from orchestration.defs.rules.resources import RulesResource
from orchestration.retries import STEP_RETRY

SOURCE_TAG = "aioa/rules_source"


@op(description="Evaluate every enabled rule now; deliver due webhooks.", retry_policy=STEP_RETRY)
def evaluate_rules_op(context: OpExecutionContext, rules: RulesResource) -> dict:
    from aioa.rules.engine import evaluate_all
    from aioa.webhooks.delivery import process_due

    settings = rules.settings()
    results = evaluate_all(settings, source=context.run.tags.get(SOURCE_TAG, "dagster"))
    deliveries = process_due(settings)
    summary = {
        "rules": len(results),
        "fired": sum(result.fired for result in results),
        "errors": [f"{result.org_id}/{result.rule}: {result.error}" for result in results if result.error],
        "deliveries_attempted": len(deliveries),
    }
    context.add_output_metadata(summary)
    for result in results:
        if result.error:
            context.log.warning(f"rule {result.org_id}/{result.rule} failed: {result.error}")
    return summary


@job(description="Evaluate the rules (alerts and automations) and deliver due webhooks.")
def evaluate_rules():
    evaluate_rules_op()


@op(description="Carry out the rules' router-threshold requests: one guarded tuner step per request.")
def tune_router_threshold_op(context: OpExecutionContext, rules: RulesResource) -> dict:
    from ml.routing.tuning import apply_requests

    steps = apply_requests(rules.settings())
    for step in steps:
        context.log.info(f"{step.org_id}: {step.before:+.3f} -> {step.after:+.3f} ({step.outcome}): {step.reason}")
    summary = {"steps": len(steps), "outcomes": [step.outcome for step in steps]}
    context.add_output_metadata(summary)
    return summary


@job(description="Tune the router's threshold per org as rules asked (guard rails in ml/routing/tuning.py).")
def tune_router_threshold():
    tune_router_threshold_op()
