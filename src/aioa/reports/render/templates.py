"""Report templates, defined once: a title, a period and sections. A section names registry metrics
(src/aioa/metrics.py) and, where it splits them, a registry dimension; the built-in five ship here, teams save their
own (`store.py`) in the same shape."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aioa.analytics.filters import DIMENSIONS
from aioa.metrics import METRICS

# Which registry metrics each kind of section can show: the columns the analytics queries it calls return.
KPI_METRICS = ("spend", "tokens", "calls", "cache_hit_rate", "error_rate", "unpriced_calls", "savings")
TREND_METRICS = ("spend", "tokens", "calls")
BREAKDOWN_METRICS = ("spend", "tokens", "calls", "error_calls", "unpriced_calls", "cache_hit_rate")
SECTION_KINDS = ("kpis", "trend", "breakdown", "budget", "projects", "routing", "recommendations")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal[SECTION_KINDS]  # type: ignore[valid-type]
    title: str | None = None
    metrics: list[str] = []  # registry names; default per kind (below)
    by: str | None = None  # a registry dimension of the usage mart (trend series, breakdown rows)
    top: int = Field(default=10, ge=1, le=100)
    chart: bool = True

    @field_validator("by")
    @classmethod
    def _dimension(cls, value: str | None) -> str | None:
        if value is not None and value not in DIMENSIONS:
            raise ValueError(f"cannot split by {value!r}: choose one of {', '.join(DIMENSIONS)}")
        return value

    @model_validator(mode="after")
    def _metrics(self) -> Section:
        allowed = {"kpis": KPI_METRICS, "trend": TREND_METRICS, "breakdown": BREAKDOWN_METRICS}.get(self.kind, ())
        if not self.metrics and allowed:
            self.metrics = list(
                allowed if self.kind == "kpis" else allowed[:1] if self.kind == "trend" else allowed[:3]
            )
        unknown = [name for name in self.metrics if name not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {', '.join(unknown)}: see `src/aioa/metrics.py`")
        wrong = [name for name in self.metrics if name not in allowed]
        if wrong:
            shown = ", ".join(allowed) if allowed else "none (its columns are fixed)"
            raise ValueError(f"a {self.kind} section cannot show {', '.join(wrong)}: it shows {shown}")
        if self.kind == "breakdown" and self.by is None:
            raise ValueError("a breakdown section needs `by` (a dimension such as model or project)")
        return self

    @property
    def heading(self) -> str:
        if self.title:
            return self.title
        labels = ", ".join(METRICS[name].label for name in self.metrics)
        by = f" by {self.by}" if self.by else ""
        return {
            "kpis": "Headline numbers",
            "trend": f"Daily {labels}{by}",
            "breakdown": f"{labels}{by}",
            "budget": "Spend against budget",
            "projects": "Projects",
            "routing": "Routing savings",
            "recommendations": "Recommendations",
        }[self.kind]


class ReportTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)
    title: str
    period: Literal["month", "week", "days"] = "month"
    days: int = Field(default=30, ge=1, le=366)  # for period "days"
    sections: list[Section] = Field(min_length=1)


BUILTIN: dict[str, ReportTemplate] = {
    template.name: template
    for template in (
        ReportTemplate(
            name="executive-monthly",
            title="Executive summary",
            period="month",
            sections=[
                Section(kind="kpis"),
                Section(kind="trend", metrics=["spend"], by="org"),
                Section(kind="trend", metrics=["tokens"], by="model"),
                Section(kind="breakdown", by="model", metrics=["spend", "calls", "cache_hit_rate"]),
                Section(kind="breakdown", by="project", metrics=["spend", "tokens", "error_calls"], top=10),
                Section(kind="budget"),
                Section(kind="routing"),
                Section(kind="recommendations"),
            ],
        ),
        ReportTemplate(
            name="team-weekly",
            title="Team weekly",
            period="week",
            sections=[
                Section(kind="kpis", metrics=["spend", "tokens", "calls", "error_rate", "cache_hit_rate"]),
                Section(kind="trend", metrics=["spend"], by="team"),
                Section(kind="breakdown", by="user", metrics=["spend", "calls", "error_calls"], top=15),
                Section(kind="breakdown", by="model", metrics=["spend", "tokens"]),
            ],
        ),
        ReportTemplate(
            name="project",
            title="Project report",
            period="month",
            sections=[
                Section(kind="kpis", metrics=["spend", "tokens", "calls", "cache_hit_rate", "error_rate"]),
                Section(kind="trend", metrics=["spend"], by="model"),
                Section(kind="projects", top=20),
                Section(kind="breakdown", by="user", metrics=["spend", "calls"]),
            ],
        ),
        ReportTemplate(
            name="budget",
            title="Budget report",
            period="month",
            sections=[
                Section(kind="kpis", metrics=["spend", "unpriced_calls"]),
                Section(kind="budget"),
                Section(kind="trend", metrics=["spend"], by="org"),
                Section(kind="breakdown", by="team", metrics=["spend"]),
            ],
        ),
        ReportTemplate(
            name="routing-savings",
            title="Routing savings",
            period="month",
            sections=[
                Section(kind="kpis", metrics=["savings", "spend", "calls"]),
                Section(kind="routing"),
                Section(kind="recommendations"),
            ],
        ),
    )
}
