"""Labelled anomalies drawn per seed: day, org, user, project, kind and magnitude (1.5x to 10x), and the size of
each in the generator's own units.

A magnitude m means the anomaly adds (m - 1) times the org's typical daily level of the affected quantity, all
of it inside the anomaly's window: calls for surges (a day), runaway agents (one session within 4 hours) and error
bursts (failing calls within one hour), cost for cost spikes (one opus session), so that the org's day holds m
times its usual amount; latency degradation makes one model's spans m times slower for two days. The typical daily
level is the org's expected volume on a working day at that point of the period. Against a short window itself an
anomaly is larger (an hour holds about 1/11 of a working day), and on a quiet day (weekend, holiday) it stands out
more against that day: the measurement reports recall by kind and by day type as well as by magnitude.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np

from aioa.generate.world import HOLIDAYS, OTEL_USERS, USER_PROJECTS, USERS, Calendar

KINDS = ("cost_spike", "usage_surge", "error_burst", "runaway_agent", "latency_degradation")
TRANSCRIPT_KINDS = ("cost_spike", "usage_surge", "error_burst", "runaway_agent")
BUCKETS = ((1.5, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, 10.0))
WINDOW_HOURS = {"cost_spike": 24, "usage_surge": 24, "error_burst": 1, "runaway_agent": 4, "latency_degradation": 48}
ANOMALY_COUNT = 8  # each kind once, then three more of any kind
MIN_GAP_DAYS = 2  # two anomalies never touch (the detector would merge them into one incident)
LATENCY_MODELS = ("gpt-4o", "deepseek-chat", "claude-sonnet-4-5-20250929")  # the OTel span models with a price
CALLS_PER_SESSION = 8.0  # 7 turns (Poisson(6) + 1), ~0.14 subagent calls per turn


def bucket_of(magnitude: float) -> str:
    for low, high in BUCKETS:
        if low <= magnitude < high or (high == BUCKETS[-1][1] and magnitude == high):
            return f"{low:g}-{high:g}x"
    raise ValueError(f"magnitude {magnitude} outside {BUCKETS[0][0]}-{BUCKETS[-1][1]}x")


def anomalies_for(calendar: Calendar, rng: np.random.Generator, count: int = ANOMALY_COUNT) -> list[dict]:
    """`count` anomalies on distinct days of the period's second half (at least MIN_GAP_DAYS apart); every kind at
    least once when count >= 5. The magnitude's bucket is drawn uniformly, then the magnitude log-uniformly in it."""
    kinds = list(KINDS[:count]) + [KINDS[int(index)] for index in rng.integers(0, len(KINDS), max(count - 5, 0))]
    kinds = [kinds[int(index)] for index in rng.permutation(len(kinds))]
    days = _spaced_days(calendar.days[len(calendar.days) // 2 : -1], len(kinds), rng)  # -1: a 48 h window fits
    return sorted(
        (_draw(kind, day, rng) for kind, day in zip(kinds, days, strict=True)), key=lambda item: item["start"]
    )


def _spaced_days(candidates: list[date], count: int, rng: np.random.Generator) -> list[date]:
    picked: list[date] = []
    for index in rng.permutation(len(candidates)):
        day = candidates[int(index)]
        if all(abs((day - other).days) >= MIN_GAP_DAYS for other in picked):
            picked.append(day)
        if len(picked) == count:
            return picked
    raise ValueError(f"cannot place {count} anomalies {MIN_GAP_DAYS} days apart in {len(candidates)} days")


def _draw(kind: str, day: date, rng: np.random.Generator) -> dict:
    low, high = BUCKETS[int(rng.integers(0, len(BUCKETS)))]
    magnitude = round(math.exp(rng.uniform(math.log(low), math.log(high))), 2)
    magnitude = min(max(magnitude, low), high - 0.01 if high < BUCKETS[-1][1] else high)
    if kind == "latency_degradation":
        org = sorted({org for org, _ in OTEL_USERS.values()})[int(rng.integers(0, 2))]
        user, project, model = None, "core-ledger", LATENCY_MODELS[int(rng.integers(0, len(LATENCY_MODELS)))]
    else:
        mapped = [name for name, (owner, _, _) in USERS.items() if owner]
        user = mapped[int(rng.integers(0, len(mapped)))]
        org = USERS[user][0]
        project = USER_PROJECTS[user][int(rng.integers(0, len(USER_PROJECTS[user])))]
        # an error burst's failed calls (logged as `<synthetic>`) count against the model each session was using:
        # no single model drives it
        model = {"cost_spike": "claude-opus-4-6"}.get(kind)
    hours = WINDOW_HOURS[kind]
    start = datetime(day.year, day.month, day.day, 0 if hours >= 24 else 14)
    end = start + timedelta(hours=hours) - (timedelta(minutes=1) if hours >= 24 else timedelta(0))
    return {
        "kind": kind,
        "start": f"{start.isoformat()}Z",
        "end": f"{end.isoformat()}Z",
        "grain": "day" if hours >= 24 else "hour",
        "org_id": org,
        "project_id": project,
        "user_id": user,
        "model": model,
        "magnitude": magnitude,
        "magnitude_bucket": bucket_of(magnitude),
        "quiet_day": day.weekday() >= 5 or day in HOLIDAYS,
        "description": _description(kind, magnitude, user, model, hours),
    }


def _description(kind: str, magnitude: float, user: str | None, model: str | None, hours: int) -> str:
    extra = f"{magnitude - 1:.2f}x the org's typical daily"
    return {
        "cost_spike": f"{user}: an opus session adding {extra} cost",
        "usage_surge": f"{user}: extra sessions adding {extra} calls",
        "error_burst": f"{user}: failing calls (529 Overloaded) adding {extra} calls within an hour",
        "runaway_agent": f"{user}: one session looping, adding {extra} calls within {hours} hours",
        "latency_degradation": f"{model} spans {magnitude:.2f}x slower for {hours // 24} days",
    }[kind]


def typical_daily_calls(calendar: Calendar, org: str, day: date, scale: float) -> float:
    """The org's expected Claude Code calls on a working day at `day`'s point of the period."""
    sessions = sum(2.2 * weight * scale for owner, _, weight in USERS.values() if owner == org)
    return sessions * calendar.growth(day) * CALLS_PER_SESSION


def latency_factors(anomalies: list[dict]) -> dict[tuple[str, str, str], float]:
    """(org, model, ISO day) -> latency multiplier of the degraded spans."""
    factors = {}
    for item in anomalies:
        if item["kind"] == "latency_degradation":
            for day in {item["start"][:10], item["end"][:10]}:
                factors[(item["org_id"], item["model"], day)] = item["magnitude"]
    return factors


def record_affected_spans(anomalies: list[dict], degraded_spans: dict[str, int]) -> None:
    """Write into each latency label how many spans it slowed down: on a quiet day a model may have no span at all,
    and an anomaly that changed nothing cannot be found (the measurement reports such labels apart)."""
    for item in anomalies:
        if item["kind"] == "latency_degradation":
            days = sorted({item["start"][:10], item["end"][:10]})
            item["affected_calls"] = sum(
                degraded_spans.get(f"{item['org_id']}|{item['model']}|{day}", 0) for day in days
            )
