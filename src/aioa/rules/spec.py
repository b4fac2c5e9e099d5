"""The rule format (YAML, docs/automation.md): a trigger, a condition in CEL, how incidents are grouped and notified,
and actions. `parse_rule` validates all of it when a rule is saved and says exactly what is wrong.

The rule names no org: it is stored for the org of whoever saves it (the principal, or the CLI's `--org`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aioa.metrics import DIMENSIONS, METRICS
from aioa.rules import conditions
from aioa.rules.cron import CronExpression

EVENT_TYPES = (
    "incident.opened",
    "incident.repeated",
    "incident.escalated",
    "incident.acknowledged",
    "incident.resolved",
    "webhook.test",
    "report.ready",
)
ANOMALY_KINDS = ("cost_spike", "usage_surge", "error_burst", "runaway_agent", "latency_degradation")
SLA_METRICS = ("latency_p95_ms", "error_rate")
# Dimensions a metric rule may group by: the registry's categorical dimensions of the daily usage mart.
USAGE_DIMENSIONS = {
    name: dimension.column
    for name, dimension in DIMENSIONS.items()
    if dimension.kind == "categorical" and "agg_usage_daily" in dimension.tables
}
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class RuleError(ValueError):
    """A rule that cannot be saved; `problems` says what and where, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid rule: " + "; ".join(problems))
        self.problems = problems


def parse_duration(value: str | int | float | None) -> timedelta | None:
    """`90s`, `15m`, `2h`, `1d` (or seconds as a number)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration like 90s, 15m, 2h or 1d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Triggers -------------------------------------------------------------------------------------------------------


class ScheduleTrigger(_Strict):
    """Fires at each cron tick (minute hour day-of-month month day-of-week) in the rule's time zone."""

    kind: Literal["schedule"]
    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        CronExpression.parse(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)") from None
        return value


class SnapshotTrigger(_Strict):
    """Fires once per newly published snapshot (the pipeline's sensor evaluates it on publication)."""

    kind: Literal["snapshot_published"]


class AnomalyTrigger(_Strict):
    """One match per stored anomaly (ml.anomalies) of the org, optionally only some kinds."""

    kind: Literal["anomaly_detected"]
    anomaly_kinds: list[Literal[ANOMALY_KINDS]] = []  # type: ignore[valid-type]
    since_days: int = Field(default=7, ge=1, le=366, description="Only anomalies that started this recently.")


class BudgetTrigger(_Strict):
    """One match per month-end projection (ml.budget_projections) that the forecast puts over the budget."""

    kind: Literal["budget_forecast"]
    min_probability: float = Field(default=0.5, ge=0, le=1)


class SlaTrigger(_Strict):
    """Latency p95 (ms) or error rate of the last `window_days` days above a level, per group (default: model)."""

    kind: Literal["sla_breach"]
    metric: Literal[SLA_METRICS]  # type: ignore[valid-type]
    above: float = Field(ge=0)
    window_days: int = Field(default=1, ge=1, le=90)
    group_by: list[str] = ["model"]
    min_calls: int = Field(default=20, ge=1, description="Groups with fewer calls in the window are not judged.")

    @field_validator("group_by")
    @classmethod
    def _dimensions(cls, value: list[str]) -> list[str]:
        return _check_dimensions(value)


class QuarantineTrigger(_Strict):
    """Quarantined (rejected) input lines over all lines read in the last `window_days` days, above a level."""

    kind: Literal["quarantine_rate"]
    above: float = Field(ge=0, le=1)
    window_days: int = Field(default=1, ge=1, le=90)


class MetricTrigger(_Strict):
    """A metric of the registry (src/aioa/metrics.py) over the last `window_days` days per group, with its
    baseline: the median of the same window over the `baseline_days` before it."""

    kind: Literal["metric_threshold"]
    metric: str
    window_days: int = Field(default=1, ge=1, le=90)
    baseline_days: int = Field(default=28, ge=1, le=366)
    group_by: list[str] = []
    above: float | None = None
    below: float | None = None

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        metric = METRICS.get(value)
        if metric is None or metric.table != "agg_usage_daily":
            usable = [name for name, item in METRICS.items() if item.table == "agg_usage_daily"]
            raise ValueError(f"unknown metric {value!r}: choose one of {', '.join(usable)}")
        return value

    @field_validator("group_by")
    @classmethod
    def _dimensions(cls, value: list[str]) -> list[str]:
        return _check_dimensions(value)


class RouterDriftTrigger(_Strict):
    """One match per drift metric of the routed tasks flagged by the latest drift run (ml.routing_drift)."""

    kind: Literal["router_drift"]
    min_severity: Literal["warn", "critical"] = "warn"
    metrics: list[str] = Field(default=[], description="Only these metrics (e.g. success_rate); empty: every one.")


class McpDownTrigger(_Strict):
    """An MCP server of the org whose last `consecutive_probes` probes all failed (the MCP status store)."""

    kind: Literal["mcp_server_down"]
    servers: list[str] = Field(default=[], description="Only these server names; empty: every probed server.")
    consecutive_probes: int = Field(default=2, ge=1, le=100)


class StepFailingTrigger(_Strict):
    """A pipeline step that failed (after its retries) in its last `consecutive_runs` runs of a watched job."""

    kind: Literal["pipeline_step_failing"]
    jobs: list[str] = ["usage_pipeline", "router_retraining"]
    consecutive_runs: int = Field(default=3, ge=1, le=20)


def _check_dimensions(value: list[str]) -> list[str]:
    unknown = [name for name in value if name not in USAGE_DIMENSIONS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}: choose from {', '.join(USAGE_DIMENSIONS)}")
    return value


Trigger = Annotated[
    ScheduleTrigger
    | SnapshotTrigger
    | AnomalyTrigger
    | BudgetTrigger
    | SlaTrigger
    | QuarantineTrigger
    | MetricTrigger
    | RouterDriftTrigger
    | McpDownTrigger
    | StepFailingTrigger,
    Field(discriminator="kind"),
]
TRIGGER_KINDS = (
    "schedule",
    "snapshot_published",
    "anomaly_detected",
    "budget_forecast",
    "sla_breach",
    "quarantine_rate",
    "metric_threshold",
    "router_drift",
    "mcp_server_down",
    "pipeline_step_failing",
)


# --- Actions --------------------------------------------------------------------------------------------------------


class NotifyAction(_Strict):
    """A message per incident through apprise URLs (slack://, msteams://, mailto://, json://, …) and/or email
    over the configured SMTP server; `escalate_to` receives it when the incident is not acknowledged in time."""

    type: Literal["notify"]
    channels: list[str] = []
    email: list[str] = []
    escalate_to: list[str] = []  # apprise URLs or email addresses

    @model_validator(mode="after")
    def _targets(self) -> NotifyAction:
        from aioa.notify.channels import check_channel

        if not self.channels and not self.email:
            raise ValueError("notify needs `channels` (apprise URLs) or `email` (addresses)")
        for target in [*self.channels, *[item for item in self.escalate_to if "://" in item]]:
            check_channel(target)
        for address in [*self.email, *[item for item in self.escalate_to if "://" not in item]]:
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", address):
                raise ValueError(f"{address!r} is not an email address")
        return self


class WebhookAction(_Strict):
    """A signed Standard Webhooks event to an endpoint of the org (`aioa webhooks add`), named by URL or id."""

    type: Literal["webhook"]
    url: str | None = None
    endpoint: str | None = None

    @model_validator(mode="after")
    def _target(self) -> WebhookAction:
        from aioa.webhooks.urls import check_url

        if (self.url is None) == (self.endpoint is None):
            raise ValueError("webhook needs exactly one of `url` or `endpoint`")
        if self.url is not None:
            self.url = check_url(self.url)
        return self


class PauseKeyAction(_Strict):
    """Revoke one API key of the org (a runaway agent's); a new key is needed to resume."""

    type: Literal["pause_api_key"]
    key_id: str = Field(min_length=1)


class RouterThresholdAction(_Strict):
    """Ask the threshold tuner (ml/routing/tuning.py) for one guarded step of the org's router threshold: toward a
    given `threshold`, a `quality_floor` or a `monthly_budget_usd` (exactly one), judged by the off-policy estimate
    on logged decisions, moving at most `max_step`, within [`min_threshold`, `max_threshold`], rolled back when the
    observed success drops by more than `max_quality_drop`."""

    type: Literal["set_router_threshold"]
    threshold: float | None = Field(default=None, ge=-1, le=1)
    quality_floor: float | None = Field(default=None, ge=0, le=1)
    monthly_budget_usd: float | None = Field(default=None, gt=0)
    monthly_tasks: float | None = Field(default=None, gt=0)
    max_step: float = Field(default=0.05, gt=0, le=1)
    min_threshold: float = Field(default=-0.5, ge=-1, le=1)
    max_threshold: float = Field(default=0.5, ge=-1, le=1)
    max_quality_drop: float = Field(default=0.03, ge=0, le=1)

    @model_validator(mode="after")
    def _one_aim(self) -> RouterThresholdAction:
        if sum(aim is not None for aim in (self.threshold, self.quality_floor, self.monthly_budget_usd)) != 1:
            raise ValueError("set_router_threshold needs exactly one of threshold, quality_floor, monthly_budget_usd")
        if self.min_threshold > self.max_threshold:
            raise ValueError("min_threshold must not exceed max_threshold")
        return self


class RetrainAction(_Strict):
    type: Literal["retrain_router"]


class SendReportAction(_Strict):
    """Render a report template (aioa.reports.render) for the rule's org and send it: attached to `email`, and/or as
    a signed `report.ready` event to a webhook endpoint of the org (`url` or `endpoint`). With a `schedule` trigger
    and `group_by: [tick]` it is a scheduled report (each tick opens its own incident, so each tick sends)."""

    type: Literal["send_report"]
    template: str = Field(min_length=1, max_length=100)
    format: Literal["pdf", "html", "xlsx", "csv", "json", "parquet"] = "pdf"
    email: list[str] = []
    url: str | None = None
    endpoint: str | None = None

    @model_validator(mode="after")
    def _targets(self) -> SendReportAction:
        from aioa.webhooks.urls import check_url

        if not self.email and self.url is None and self.endpoint is None:
            raise ValueError("send_report needs `email` (addresses) and/or a webhook `url` or `endpoint`")
        if self.url is not None and self.endpoint is not None:
            raise ValueError("send_report takes a webhook `url` or an `endpoint`, not both")
        for address in self.email:
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", address):
                raise ValueError(f"{address!r} is not an email address")
        if self.url is not None:
            self.url = check_url(self.url)
        return self


class OpenIssueAction(_Strict):
    """Open one issue per incident, when it opens: in GitHub (`repo: owner/name`), Jira (`project: KEY`) or Linear
    (`team`: the team's id), through their APIs as configured (AIOA_GITHUB_*, AIOA_JIRA_*, AIOA_LINEAR_*)."""

    type: Literal["open_issue"]
    tracker: Literal["github", "jira", "linear"]
    repo: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    project: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]+$")
    team: str | None = None
    labels: list[str] = []  # GitHub labels

    @model_validator(mode="after")
    def _target(self) -> OpenIssueAction:
        needed = {"github": "repo", "jira": "project", "linear": "team"}[self.tracker]
        if not getattr(self, needed):
            raise ValueError(f"open_issue in {self.tracker} needs `{needed}`")
        return self


ACTION_MODELS = {
    "notify": NotifyAction,
    "webhook": WebhookAction,
    "pause_api_key": PauseKeyAction,
    "set_router_threshold": RouterThresholdAction,
    "retrain_router": RetrainAction,
    "send_report": SendReportAction,
    "open_issue": OpenIssueAction,
}
Action = Annotated[
    NotifyAction
    | WebhookAction
    | PauseKeyAction
    | RouterThresholdAction
    | RetrainAction
    | SendReportAction
    | OpenIssueAction,
    Field(discriminator="type"),
]


# --- The rule -------------------------------------------------------------------------------------------------------


class NotifyPolicy(_Strict):
    """How often an incident speaks: once when opened; again every `repeat_every` while open and unacknowledged;
    to `escalate_to` after `escalate_after`; never twice for the same group within `cooldown`."""

    cooldown: str = "1h"
    repeat_every: str | None = None
    escalate_after: str | None = None

    @field_validator("cooldown", "repeat_every", "escalate_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        parse_duration(value)
        return value


class Rule(_Strict):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    enabled: bool = True
    severity: Literal["info", "warning", "critical"] = "warning"
    trigger: Trigger
    condition: str = "true"
    group_by: list[str] | None = None  # fields of the match; default: the trigger's own grouping
    notify: NotifyPolicy = Field(default_factory=NotifyPolicy)
    recommendation: str | None = None
    actions: list[Action] = Field(min_length=1)

    @model_validator(mode="after")
    def _condition_and_grouping(self) -> Rule:
        from aioa.rules.triggers import example_facts

        facts = example_facts(self.trigger)
        conditions.check(self.condition, facts)
        unknown = [name for name in self.group_by or () if name not in facts]
        if unknown:
            raise ValueError(
                f"group_by names {', '.join(unknown)}, which this trigger does not provide: {_names(facts)}"
            )
        return self


def _names(facts: dict) -> str:
    return ", ".join(sorted(facts))


def parse_rule(document: Any) -> Rule:
    """A validated Rule, or RuleError with one readable line per problem (an unknown action and a disallowed URL
    are named as such)."""
    if not isinstance(document, dict):
        raise RuleError(["a rule is a YAML mapping with name, trigger, condition and actions"])
    problems = _unknown_kinds(document)
    if problems:
        raise RuleError(problems)
    try:
        return Rule.model_validate(document)
    except ValidationError as error:
        raise RuleError([_problem(item) for item in error.errors()]) from None


def load_rule_file(path: Path) -> Rule:
    return parse_rule_yaml(Path(path).read_text(encoding="utf-8"), source=str(path))


def parse_rule_yaml(text: str, *, source: str = "the rule") -> Rule:
    """A rule from YAML text (a file, or the app's editor), with the same messages either way."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RuleError([f"{source} is not valid YAML: {error}"]) from None
    return parse_rule(document)


def _unknown_kinds(document: dict) -> list[str]:
    """Name unknown trigger kinds and action types plainly (pydantic's union errors are long)."""
    problems = []
    trigger = document.get("trigger")
    if isinstance(trigger, dict) and trigger.get("kind") not in TRIGGER_KINDS:
        problems.append(f"trigger: unknown kind {trigger.get('kind')!r}: choose one of {', '.join(TRIGGER_KINDS)}")
    for index, action in enumerate(document.get("actions") or []):
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in ACTION_MODELS:
            problems.append(f"actions[{index}]: unknown action {kind!r}: choose one of {', '.join(ACTION_MODELS)}")
    return problems


def _problem(item: dict) -> str:
    where = ""
    for part in item["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif not str(part).startswith(("function-", "tagged-union")):
            where += f".{part}" if where else str(part)
    where = re.sub(
        r"\.(schedule|snapshot_published|anomaly_detected|budget_forecast|sla_breach|quarantine_rate|"
        r"metric_threshold|router_drift|mcp_server_down|pipeline_step_failing|notify|webhook|pause_api_key|set_router_threshold|retrain_router|send_report)\b",
        "",
        where,
    )
    message = item["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
