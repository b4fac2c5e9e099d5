"""The message an incident sends: what happened, how big, what drove it, the month-end cost, the recommended action,
and links (the page with its filters, acknowledge, resolve)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from aioa.notify.links import action_link, page_link
from aioa.settings import Settings

RECOMMENDATIONS = {
    "anomaly_detected": "Open the driving project and model; if one session loops, pause its API key.",
    "budget_forecast": "Move routine tasks to a cheaper model or raise the budget before month end.",
    "sla_breach": "Check the provider's status and route latency-sensitive tasks to another model.",
    "quarantine_rate": "Run `aioa quarantine` to see the rejected lines and fix the source that writes them.",
    "metric_threshold": "Compare with the baseline on the page linked below and find the project that moved.",
    "schedule": "Review the linked page.",
    "snapshot_published": "Review the linked page.",
    "router_drift": "Retrain the router (`aioa route train`, or a `retrain_router` action): it promotes only past the "
    "champion gate.",
    "pipeline_step_failing": "Open the run in Dagster (or `aioa doctor`): the step failed after its retries; fix the "
    "cause and re-run the pipeline.",
    "mcp_server_down": "Run `aioa mcp status` to see the server's error, then fix its command, URL or credentials.",
}
# The app page (Streamlit url path: the file name under app_pages/) that shows each kind; "" is the Overview.
PAGES = {
    "anomaly_detected": "anomalies",
    "budget_forecast": "forecasts",
    "sla_breach": "costs",
    "metric_threshold": "costs",
    "quarantine_rate": "quality",
    "router_drift": "routing",
    "mcp_server_down": "mcp_tools",
}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str


def compose(settings: Settings, incident, rule, *, reason: str = "opened", month_end: float | None = None) -> Message:
    """`incident`: an Incident row; `rule`: its aioa.rules.spec.Rule."""
    facts = incident.summary
    kind = rule.trigger.kind
    what = _what(kind, facts)
    size = _size(kind, facts)
    drivers = _drivers(kind, facts, incident.group)
    cost = facts.get("month_end_usd") if month_end is None else month_end
    day = _day(facts.get("day"))
    link = page_link(
        settings,
        PAGES.get(kind, ""),
        org_id=incident.org_id,
        start=day - timedelta(days=6) if day else None,
        end=day,
        **{**incident.group, **{name: facts.get(name) for name in ("project_id", "model") if facts.get(name)}},
    )
    prefix = {"opened": "", "repeat": "Still open: ", "escalation": "ESCALATED: "}.get(reason, "")
    title = f"{prefix}[{rule.severity}] {rule.name}: {what}"
    lines = [
        f"What happened: {what} (org {incident.org_id}"
        + (f", {_group_text(incident.group)}" if incident.group else "")
        + f"; {incident.matches} matching rows).",
        f"How big: {size}.",
        f"Drivers: {drivers}.",
        "Month-end cost: " + (f"${cost:,.2f} projected" if cost is not None else "no forecast yet") + ".",
        f"Recommended action: {rule.recommendation or RECOMMENDATIONS[kind]}",
        f"Open: {link}",
        f"Acknowledge: {action_link(settings, incident.id, incident.org_id, 'acknowledge')}",
        f"Resolve: {action_link(settings, incident.id, incident.org_id, 'resolve')}",
        f"Incident {incident.id}, opened {incident.opened_at:%Y-%m-%d %H:%M} UTC.",
    ]
    return Message(title, "\n".join(lines), link)


def _what(kind: str, facts: dict) -> str:
    if kind == "anomaly_detected":
        return (
            f"{str(facts.get('kind', 'anomaly')).replace('_', ' ')} in {facts.get('metric')} from {facts.get('start')}"
        )
    if kind == "budget_forecast":
        return f"spend is forecast over budget for {facts.get('month')} ({facts.get('project_id')})"
    if kind == "sla_breach":
        return f"{facts.get('metric')} above {facts.get('above')}"
    if kind == "quarantine_rate":
        return f"quarantine rate above {facts.get('above'):.1%}"
    if kind == "metric_threshold":
        return f"{facts.get('metric')} crossed its threshold on {facts.get('day')}"
    if kind == "schedule":
        return f"scheduled check at {facts.get('tick')}"
    if kind == "router_drift":
        return f"routed tasks drifted ({facts.get('metric')}, {facts.get('severity')}) in the window to {facts.get('as_of')}"
    if kind == "mcp_server_down":
        return f"MCP server {facts.get('server')} is down since {facts.get('down_since')}"
    if kind == "pipeline_step_failing":
        return f"step {facts.get('step')} of {facts.get('job')} keeps failing"
    return f"snapshot {facts.get('snapshot')} published"


def _size(kind: str, facts: dict) -> str:
    if kind == "anomaly_detected":
        ratio = facts.get("ratio")
        return f"{_num(facts.get('observed'))} observed vs {_num(facts.get('expected'))} expected" + (
            f" ({ratio:.1f}x)" if ratio else ""
        )
    if kind == "budget_forecast":
        return (
            f"${_num(facts.get('projected_month_end_usd'))} projected vs ${_num(facts.get('budget_usd'))} budget "
            f"(P(exceed) {facts.get('prob_exceed_budget') or 0:.0%})"
        )
    if kind in ("sla_breach", "metric_threshold"):
        baseline = facts.get("baseline")
        return f"{_num(facts.get('value'))}" + (
            f" vs baseline {_num(baseline)} ({facts['ratio']:.1f}x)" if baseline and facts.get("ratio") else ""
        )
    if kind == "quarantine_rate":
        return f"{facts.get('rate', 0):.1%} of {_num(facts.get('lines'))} lines rejected"
    if kind == "router_drift":
        return str(facts.get("message"))
    if kind == "mcp_server_down":
        return f"{_num(facts.get('down_probes'))} failed probes in a row ({facts.get('reason')})"
    if kind == "pipeline_step_failing":
        return f"failed in {_num(facts.get('failures'))} runs in a row since {facts.get('first_failed_at')}: {facts.get('last_error')}"
    return "n/a"


def _drivers(kind: str, facts: dict, group: dict) -> str:
    if kind == "anomaly_detected":
        parts = [
            f"{name} {facts.get(f'driver_{name}')} ({facts.get(f'driver_{name}_share') or 0:.0%})"
            for name in ("project", "model", "user")
            if facts.get(f"driver_{name}")
        ]
        return ", ".join(parts) or str(facts.get("drivers") or "none identified")
    return _group_text(group) or "the org as a whole"


def _group_text(group: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in group.items())


def _num(value) -> str:
    return "n/a" if value is None else f"{float(value):,.2f}"


def _day(value) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
