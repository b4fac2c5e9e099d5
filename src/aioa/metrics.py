"""The one registry of metrics and dimensions: what "spend" or "cache hit rate" means, over which mart, in which
unit, and the words a question may use for it. The dashboard's queries and the Ask parser read it; a test
(tests/warehouse/test_metrics_registry.py) checks it against dbt's semantic models
(dbt_project/models/metrics/semantic_models.yml), so the three agree on every shared metric."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["usd", "count", "ratio", "ms"]


@dataclass(frozen=True)
class Measure:
    """An aggregate over one mart's rows: `agg(expr)`, as a dbt measure (`agg`, `expr`) spells it."""

    agg: Literal["sum", "count"]
    expr: str  # a column of the mart or a row-level SQL expression over its columns

    def sql(self, condition: str | None = None) -> str:
        """The aggregate as SQL; `condition` keeps only the rows it holds for (`filter (where …)`)."""
        return f"{self.agg}({self.expr})" + (f" filter (where {condition})" if condition else "")


@dataclass(frozen=True)
class Metric:
    """A number people ask for: one measure (a simple metric) or a numerator over a denominator (a ratio)."""

    name: str  # snake_case, the dbt metric's name where dbt has it, and the answer's column name
    label: str
    description: str
    unit: Unit
    table: str  # the mart (schema `marts`) the expression aggregates
    measure: Measure | None = None
    numerator: Measure | None = None
    denominator: Measure | None = None
    synonyms: tuple[str, ...] = ()  # words of a question that name it (the Ask parser); none: not askable

    def __post_init__(self) -> None:
        if (self.measure is None) == (self.numerator is None or self.denominator is None):
            raise ValueError(f"metric {self.name}: give a measure, or a numerator and a denominator")

    @property
    def is_ratio(self) -> bool:
        return self.measure is None

    def sql(self, condition: str | None = None) -> str:
        """The aggregate over `marts.<table>`; a ratio is NULL where its denominator is 0."""
        if self.measure is not None:
            return self.measure.sql(condition)
        return f"{self.numerator.sql(condition)} / nullif({self.denominator.sql(condition)}, 0)"

    @property
    def expression(self) -> str:
        return self.sql()


@dataclass(frozen=True)
class Dimension:
    """A column answers can be grouped or filtered by."""

    name: str  # the dashboard's name for it ("project group")
    column: str
    label: str
    tables: tuple[str, ...]  # the marts (of the metrics above and the dashboard's aggregates) that carry the column
    synonyms: tuple[str, ...] = ()  # words of a question that name it; none: not a question's dimension
    kind: Literal["categorical", "time"] = "categorical"


_USAGE = "agg_usage_daily"
_HANDOFFS = "fct_handoffs"
_MCP = "agg_mcp_tools_daily"
_SESSIONS = "fct_sessions"

# Order matters to the Ask parser: of two names of equal length found in a question, the first listed wins.
METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric(
            "spend",
            "Spend (USD)",
            "Money spent on model calls, in US dollars. Calls of models without a known price "
            "count in unpriced_calls, never as zero.",
            "usd",
            _USAGE,
            Measure("sum", "cost_usd"),
            synonyms=("spend", "spending", "cost", "costs", "spent", "money", "dollars", "usd"),
        ),
        Metric(
            "tokens",
            "Tokens",
            "All tokens: input, output, cache writes and cache reads.",
            "count",
            _USAGE,
            Measure("sum", "total_tokens"),
            synonyms=("tokens", "token"),
        ),
        Metric(
            "calls",
            "Calls",
            "Billed model responses.",
            "count",
            _USAGE,
            Measure("sum", "calls"),
            synonyms=("calls", "requests", "responses"),
        ),
        Metric(
            "error_rate",
            "Error rate",
            "Share of responses that were errors.",
            "ratio",
            _USAGE,
            numerator=Measure("sum", "error_calls"),
            denominator=Measure("sum", "calls"),
            synonyms=("error rate", "failure rate", "errors rate", "error ratio"),
        ),
        Metric(
            "error_calls",
            "Error calls",
            "Responses that were errors.",
            "count",
            _USAGE,
            Measure("sum", "error_calls"),
            synonyms=("errors", "failed calls"),
        ),
        Metric(
            "cache_hit_rate",
            "Cache hit rate",
            "Share of input-side tokens (uncached input, cache reads and cache writes) served from the prompt cache.",
            "ratio",
            _USAGE,
            numerator=Measure("sum", "cache_read_tokens"),
            denominator=Measure("sum", "input_tokens + cache_read_tokens + cache_write_tokens"),
            synonyms=("cache hit rate", "cache hit ratio", "cache hits", "cache hit", "cache rate", "cache efficiency"),
        ),
        Metric(
            "savings",
            "Savings from routing (USD)",
            "What delegated tasks would have cost at the orchestrating model's list price, minus what they cost.",
            "usd",
            _HANDOFFS,
            Measure("sum", "savings_usd"),
            synonyms=("savings", "saved", "saving"),
        ),
        Metric(
            "handoff_success_rate",
            "Handoff success rate",
            "Share of handoffs with a known outcome that succeeded.",
            "ratio",
            _HANDOFFS,
            numerator=Measure("sum", "case when success then 1 else 0 end"),
            denominator=Measure("sum", "case when success is not null then 1 else 0 end"),
            synonyms=("handoff success rate", "handoff success", "success rate", "handoff accuracy"),
        ),
        Metric(
            "handoffs",
            "Handoffs",
            "Tasks delegated from an orchestrating model to another model.",
            "count",
            _HANDOFFS,
            Measure("count", "handoff_id"),
            synonyms=("handoffs", "handoff", "delegations"),
        ),
        Metric(
            "mcp_calls",
            "MCP tool calls",
            "Calls of tools served by MCP servers.",
            "count",
            _MCP,
            Measure("sum", "calls"),
            synonyms=("mcp calls", "mcp tool calls", "tool calls", "mcp usage"),
        ),
        Metric(
            "mcp_tool_failures",
            "MCP tool failures",
            "MCP tool calls whose result was an error.",
            "count",
            _MCP,
            Measure("sum", "failures"),
            synonyms=("tool failures", "mcp failures", "tool errors", "mcp errors", "failed tool calls"),
        ),
        Metric(
            "mcp_tool_failure_rate",
            "MCP tool failure rate",
            "MCP tool failures divided by the tool calls whose result was seen (a call without a result is left out).",
            "ratio",
            _MCP,
            numerator=Measure("sum", "failures"),
            denominator=Measure("sum", "calls_with_result"),
            synonyms=("tool failure rate", "mcp failure rate", "tool error rate", "mcp error rate"),
        ),
        Metric(
            "sessions",
            "Sessions",
            "Agent sessions (a session's day is the day it started).",
            "count",
            _SESSIONS,
            Measure("count", "session_id"),
            synonyms=("sessions",),
        ),
        Metric(
            "avg_latency_ms",
            "Average latency (ms)",
            "Mean response time of the calls whose latency was recorded, in milliseconds (calls without a "
            "recorded latency are left out, never counted as zero).",
            "ms",
            _USAGE,
            numerator=Measure("sum", "latency_ms_sum"),
            denominator=Measure("sum", "latency_calls"),
            synonyms=("average latency", "avg latency", "mean latency", "latency", "response time", "response times"),
        ),
        Metric(
            "latency_ms_sum",
            "Summed latency (ms)",
            "Latency of the calls that recorded one, summed (numerator of avg_latency_ms).",
            "ms",
            _USAGE,
            Measure("sum", "latency_ms_sum"),
        ),
        Metric(
            "latency_calls",
            "Calls with a latency",
            "Calls whose latency was recorded (denominator of avg_latency_ms).",
            "count",
            _USAGE,
            Measure("sum", "latency_calls"),
        ),
        Metric(
            "cost_per_call",
            "Cost per call (USD)",
            "Spend divided by calls (unpriced calls count in the calls, at no cost).",
            "usd",
            _USAGE,
            numerator=Measure("sum", "cost_usd"),
            denominator=Measure("sum", "calls"),
            synonyms=("cost per call", "average cost per call", "avg cost per call", "cost per request", "call cost"),
        ),
        Metric(
            "unpriced_calls",
            "Unpriced calls",
            "Responses of models with no known price (their cost is unknown, not zero).",
            "count",
            _USAGE,
            Measure("sum", "unpriced_calls"),
        ),
    )
}

_FACTS = (_USAGE, _HANDOFFS, _MCP, _SESSIONS)
# Order matters to the Ask parser as for METRICS (ties between words of equal length).
DIMENSIONS: dict[str, Dimension] = {
    dimension.name: dimension
    for dimension in (
        Dimension("project group", "project_group", "Project group", (_USAGE, _SESSIONS), ("project group", "product")),
        Dimension("project", "project_id", "Project", _FACTS, ("project",)),
        Dimension("org", "org_id", "Org", _FACTS, ("org", "organisation", "organization")),
        Dimension("team", "team_id", "Team", (_USAGE, _HANDOFFS, _SESSIONS, _MCP), ("team",)),
        Dimension("user", "user_id", "User", (_USAGE, _HANDOFFS, _SESSIONS, _MCP), ("user", "developer", "person")),
        Dimension("model", "model", "Model", (_USAGE,), ("model",)),
        Dimension("provider", "provider", "Provider", (_USAGE,), ("provider",)),
        Dimension("mcp server", "mcp_server", "MCP server", (_MCP,), ("server", "mcp server")),
        Dimension("tool", "mcp_tool", "MCP tool", (_MCP,), ("mcp tool", "tool")),
        Dimension("task type", "task_type", "Task type", (_HANDOFFS,), ("task type",)),
        Dimension("target model", "target_model", "Target model", (_HANDOFFS,), ("target model",)),
        Dimension("day", "day", "Day", _FACTS, kind="time"),
    )
}


def askable_metrics() -> dict[str, Metric]:
    """The metrics a question can name (those with synonyms), in registry order."""
    return {name: metric for name, metric in METRICS.items() if metric.synonyms}


def dimension_words() -> dict[str, str]:
    """Each word a question may use for a categorical dimension → its column, in registry order."""
    return {
        word: dimension.column
        for dimension in DIMENSIONS.values()
        if dimension.kind == "categorical"
        for word in dimension.synonyms
    }


def table_dimensions(table: str) -> set[str]:
    """The categorical dimension columns a mart carries (what a question over it can group or filter by)."""
    return {
        dimension.column
        for dimension in DIMENSIONS.values()
        if dimension.kind == "categorical" and dimension.synonyms and table in dimension.tables
    }
