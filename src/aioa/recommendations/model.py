"""One recommendation: what to change, what it saves a month, and the numbers that say so."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

KINDS = {
    "route_to_cheaper": "Route a task type to the cheaper model",
    "low_cache_hit": "Raise a project's prompt-cache hit rate",
    "expensive_model_short_tasks": "Move short calls off the most expensive model",
    "runaway_agent": "Cap a runaway agent",
}
DAYS_PER_MONTH = 30.0


@dataclass
class Recommendation:
    kind: str  # a key of KINDS
    org_id: str
    subject: str  # what it is about: a task type, a project, a user
    monthly_saving_usd: float  # estimated, at the rate of the window it was measured on
    evidence: dict  # the numbers the saving is computed from (JSON-able)
    action: str  # what to do, in one sentence
    summary: str = ""  # the sentence people read (templates offline; an LLM may rephrase it)
    page: str = "app_pages/overview.py"  # where the evidence is shown in the app
    query: dict[str, str] = field(default_factory=dict)  # that page's filters

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    def to_dict(self) -> dict:
        return asdict(self) | {"title": self.title}


def per_month(amount: float, window_days: float) -> float:
    """An amount measured over `window_days` days, at the same rate over a 30-day month."""
    return float(amount) * DAYS_PER_MONTH / float(window_days)
