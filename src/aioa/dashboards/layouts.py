"""A person's "My dashboard": which widgets, in which order, saved in the identity store under their subject.

A widget names what it shows, never whose data: the app draws each one through its tenant-scoped loaders with the
viewer's own scope, so a layout holds no org, team or user filter and cannot widen what its owner may read.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from aioa.dashboards.models import DashboardLayout
from aioa.identity import clock
from aioa.identity.principal import Principal
from aioa.identity.store import session_scope
from aioa.settings import Settings

MAX_WIDGETS = 24
KPI_METRICS = ("spend_usd", "tokens", "calls", "cache_hit_rate", "error_rate", "savings_usd")
GROUPS = ("org", "team", "user", "project", "model")
# What "My dashboard" shows until its owner saves a layout of their own.
STARTER = (
    {"kind": "kpi", "metric": "spend_usd"},
    {"kind": "kpi", "metric": "calls"},
    {"kind": "kpi", "metric": "error_rate"},
    {"kind": "chart", "chart": "daily_spend", "by": "project"},
    {"kind": "table", "table": "spend_by", "by": "model"},
)


class _Widget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KpiWidget(_Widget):
    """A headline number of the chosen period with its change against the period before."""

    kind: Literal["kpi"] = "kpi"
    metric: Literal[KPI_METRICS]  # type: ignore[valid-type]


class ChartWidget(_Widget):
    """Daily spend as an area per group, or total spend per group as bars."""

    kind: Literal["chart"] = "chart"
    chart: Literal["daily_spend", "spend_by"]
    by: Literal[GROUPS]  # type: ignore[valid-type]


class TableWidget(_Widget):
    """Spend per group, the projects overview or the most expensive sessions."""

    kind: Literal["table"] = "table"
    table: Literal["spend_by", "projects", "sessions"]
    by: Literal[GROUPS] = "project"  # type: ignore[valid-type]


class QuestionWidget(_Widget):
    """A question saved from Ask, answered again (for the viewer's scope) each time the dashboard opens."""

    kind: Literal["question"] = "question"
    question: str = Field(min_length=1, max_length=500)


Widget = Annotated[KpiWidget | ChartWidget | TableWidget | QuestionWidget, Field(discriminator="kind")]
Layout = TypeAdapter(list[Widget])


def validated(widgets: list) -> list[Widget]:
    """The widgets as models (dicts are validated); more than MAX_WIDGETS is refused."""
    layout = Layout.validate_python(list(widgets))
    if len(layout) > MAX_WIDGETS:
        raise ValueError(f"a dashboard holds at most {MAX_WIDGETS} widgets, not {len(layout)}")
    return layout


def load_layout(settings: Settings, principal: Principal) -> list[Widget] | None:
    """The principal's saved widgets, or None when they saved none (or saved them in another org)."""
    with session_scope(settings, write=False) as session:
        row = session.get(DashboardLayout, principal.subject)
        if row is None or row.org_id != principal.org_id:
            return None
        return validated(row.widgets)


def save_layout(settings: Settings, principal: Principal, widgets: list) -> list[Widget]:
    """Store the principal's widgets (replacing what they saved before) and return them validated."""
    layout = validated(widgets)
    stored = Layout.dump_python(layout, mode="json")
    with session_scope(settings) as session:
        row = session.get(DashboardLayout, principal.subject)
        if row is None:
            row = DashboardLayout(owner=principal.subject)
            session.add(row)
        row.org_id, row.widgets, row.updated_at = principal.org_id, stored, clock.now()
    return layout


def pin_question(settings: Settings, principal: Principal, question: str) -> list[Widget]:
    """Add a saved question at the end of the principal's layout (the starter one if they saved none) and save it."""
    current = load_layout(settings, principal)
    widgets = list(STARTER) if current is None else [widget.model_dump() for widget in current]
    return save_layout(settings, principal, [*widgets, {"kind": "question", "question": question}])
