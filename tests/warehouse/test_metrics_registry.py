"""The metrics registry (src/aioa/metrics.py) and dbt's semantic models agree on every shared metric: same mart,
same aggregation, same expression (a ratio: the same numerator and denominator). A metric only one side has must be
in an allow-list below with the reason."""

from __future__ import annotations

import re
from dataclasses import replace

import yaml

from aioa.metrics import DIMENSIONS, METRICS, Measure, Metric
from aioa.settings import PROJECT_ROOT

SEMANTIC_MODELS = PROJECT_ROOT / "dbt_project" / "models" / "metrics" / "semantic_models.yml"
MARTS = PROJECT_ROOT / "dbt_project" / "models" / "marts"

# Metrics only dbt defines, and why the registry does without them.
DBT_ONLY = {
    "cache_read_tokens": "numerator of cache_hit_rate; the registry spells it inside the ratio",
    "cacheable_input_tokens": "denominator of cache_hit_rate; the registry spells it inside the ratio",
    "successful_handoffs": "numerator of handoff_success_rate; the registry spells it inside the ratio",
    "handoffs_with_outcome": "denominator of handoff_success_rate; the registry spells it inside the ratio",
    "mcp_calls_with_result": "denominator of mcp_tool_failure_rate; the registry spells it inside the ratio",
}
# Metrics only the registry defines, and why dbt does without them.
REGISTRY_ONLY: dict[str, str] = {}


def _normalise(sql: str) -> str:
    """Lower case, one space between words, none inside brackets or before commas."""
    text = re.sub(r"\s+", " ", sql.strip().lower())
    return re.sub(r"\s*([(),])\s*", lambda match: match.group(1) + (" " if match.group(1) == "," else ""), text)


def _spelled(measure: Measure) -> tuple[str, str]:
    return measure.agg.lower(), _normalise(measure.expr)


def semantic_layer() -> dict[str, dict]:
    """dbt's metrics, each resolved to its mart and measure(s): {name: {"table", "measure" | "numerator",
    "denominator"}} with measures as (agg, normalised expression)."""
    document = yaml.safe_load(SEMANTIC_MODELS.read_text())
    measures = {}
    for model in document["semantic_models"]:
        table = re.fullmatch(r"ref\('(\w+)'\)", model["model"]).group(1)
        for measure in model.get("measures", []):
            measures[measure["name"]] = (table, _spelled(Measure(measure["agg"], measure.get("expr", measure["name"]))))
    simple = {
        metric["name"]: measures[metric["type_params"]["measure"]]
        for metric in document["metrics"]
        if metric["type"] == "simple"
    }
    resolved = {name: {"table": table, "measure": measure} for name, (table, measure) in simple.items()}
    for metric in document["metrics"]:
        if metric["type"] == "ratio":
            (table, numerator), (_, denominator) = (
                simple[metric["type_params"][side]] for side in ("numerator", "denominator")
            )
            resolved[metric["name"]] = {"table": table, "numerator": numerator, "denominator": denominator}
        elif metric["type"] != "simple":
            resolved[metric["name"]] = {"table": None, "unsupported": metric["type"]}
    return resolved


def disagreements(registry: dict[str, Metric], dbt: dict[str, dict]) -> list[str]:
    """Every way the two disagree, in words (empty when they agree)."""
    problems = []
    for name in sorted(registry.keys() - dbt.keys() - REGISTRY_ONLY.keys()):
        problems.append(f"{name}: in the registry, not in dbt (define it in semantic_models.yml or allow-list it)")
    for name in sorted(dbt.keys() - registry.keys() - DBT_ONLY.keys()):
        problems.append(f"{name}: in dbt, not in the registry (add it to src/aioa/metrics.py or allow-list it)")
    problems += [f"{name}: allow-listed as dbt-only but the registry has it" for name in DBT_ONLY if name in registry]
    problems += [f"{name}: allow-listed as dbt-only but dbt does not have it" for name in DBT_ONLY if name not in dbt]
    problems += [f"{name}: allow-listed as registry-only but dbt has it" for name in REGISTRY_ONLY if name in dbt]
    for name in sorted(registry.keys() & dbt.keys()):
        mine, theirs = registry[name], dbt[name]
        if mine.table != theirs["table"]:
            problems.append(f"{name}: registry reads {mine.table}, dbt reads {theirs['table']}")
        if mine.is_ratio != ("numerator" in theirs):
            problems.append(f"{name}: {'ratio' if mine.is_ratio else 'simple'} in the registry, not in dbt")
            continue
        sides = (
            (("numerator", mine.numerator), ("denominator", mine.denominator))
            if mine.is_ratio
            else (("measure", mine.measure),)
        )
        for side, measure in sides:
            if _spelled(measure) != theirs[side]:
                problems.append(
                    f"{name}: {side} is {'('.join(_spelled(measure))}) in the registry, "
                    f"{'('.join(theirs[side])}) in dbt"
                )
    return problems


def test_registry_and_semantic_models_agree_on_every_shared_metric():
    dbt = semantic_layer()
    assert disagreements(METRICS, dbt) == []
    shared = METRICS.keys() & dbt.keys()
    assert {"spend", "tokens", "calls", "error_rate", "cache_hit_rate", "handoff_success_rate", "savings"} <= shared


def test_an_altered_registry_entry_is_reported():
    dbt = semantic_layer()
    spend = METRICS["spend"]
    hit_rate = METRICS["cache_hit_rate"]
    altered = {
        "spend": replace(spend, measure=Measure("sum", "total_tokens")),
        "cache_hit_rate": replace(hit_rate, denominator=Measure("sum", "input_tokens + cache_read_tokens")),
        "error_rate": replace(METRICS["error_rate"], table="fct_llm_calls"),
        "calls": replace(METRICS["calls"], measure=Measure("count", "calls")),
        "savings": Metric(
            "savings",
            "Savings",
            "",
            "usd",
            "fct_handoffs",
            numerator=Measure("sum", "savings_usd"),
            denominator=Measure("sum", "cost_usd"),
        ),
        "brand_new": replace(spend, name="brand_new"),
    }
    problems = disagreements(METRICS | altered, dbt)
    assert len(problems) == len(altered), problems
    for name in altered:
        assert any(problem.startswith(f"{name}:") for problem in problems), name
    assert (
        disagreements(METRICS | {"tokens": replace(METRICS["tokens"], measure=Measure("SUM", " total_tokens "))}, dbt)
        == []
    )  # case and spacing are not disagreements


def test_a_dropped_metric_must_be_allow_listed():
    problems = disagreements({name: metric for name, metric in METRICS.items() if name != "savings"}, semantic_layer())
    assert problems == ["savings: in dbt, not in the registry (add it to src/aioa/metrics.py or allow-list it)"]


def test_every_dimension_is_a_column_of_the_marts_it_names():
    columns = {}
    for path in MARTS.glob("*.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            columns[model["name"]] = {column["name"] for column in model["columns"]}
    missing = [
        f"{table}.{dimension.column}"
        for dimension in DIMENSIONS.values()
        for table in dimension.tables
        if dimension.column not in columns.get(table, ())
    ]
    assert missing == []
    assert {metric.table for metric in METRICS.values()} <= columns.keys()
