"""The four recommendation kinds, each a function of plain frames (what `data.read_inputs` reads) so a test can build
the case that must fire and the one that must not. Savings are per 30-day month at the window's rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aioa.metrics import METRICS
from aioa.recommendations.model import Recommendation, per_month

MIN_MONTHLY_SAVING_USD = 1.0  # below this a recommendation is noise
# route_to_cheaper
MIN_LOGGED_HANDOFFS = 30  # the off-policy estimator's own minimum (ml.routing.feedback.MIN_LOGGED)
MAX_QUALITY_DROP = 0.03  # a route change may cost at most 3 points of success rate
# low_cache_hit
LOW_CACHE_HIT = 0.5  # a project below this share of input-side tokens served from the cache is flagged
TARGET_CACHE_HIT = 0.8  # the share the saving assumes it can reach (the sample's healthy projects reach ~0.9)
MIN_INPUT_SIDE_TOKENS = 100_000
# expensive_model_short_tasks
MIN_SHORT_CALLS = 20
MTOK = 1_000_000.0


def route_to_cheaper(handoffs: pd.DataFrame, window_days: int) -> list[Recommendation]:
    """Per org and task type: the off-policy estimate (SNIPS over the logged propensities, ml.routing.feedback) of
    success and cost per task had every task gone to the cheapest target; recommended when the saving is real and
    success drops by at most MAX_QUALITY_DROP."""
    from ml.routing.feedback import FeedbackDataError, snips

    if handoffs.empty:
        return []
    found = []
    for (org_id, task_type), every in handoffs.groupby(["org_id", "task_type"], sort=True):
        # estimated on the decisions logged with a propensity and a known outcome; the volume is every handoff
        group = every[every["propensity"].notna() & every["success"].notna()]
        per_task = group.groupby("target_model")["cost_usd"].mean()
        if len(per_task) < 2 or len(group) < MIN_LOGGED_HANDOFFS:
            continue
        cheap = per_task.idxmin()
        action = (group["target_model"] != cheap).to_numpy(dtype=float)  # 1 = a dearer model than the cheap one
        never_strong = np.zeros(len(group))
        try:
            success_cheap = snips(action, group["propensity"], group["success"], never_strong)
            cost_cheap = snips(action, group["propensity"], group["cost_usd"], never_strong)
        except FeedbackDataError:
            continue
        success_now, cost_now = float(group["success"].mean()), float(group["cost_usd"].mean())
        quality_change = success_cheap.value - success_now
        saving = per_month((cost_now - cost_cheap.value) * len(every), window_days)
        if saving < MIN_MONTHLY_SAVING_USD or quality_change < -MAX_QUALITY_DROP:
            continue
        found.append(
            Recommendation(
                kind="route_to_cheaper",
                org_id=org_id,
                subject=str(task_type),
                monthly_saving_usd=saving,
                action=f"Route {task_type} tasks to {cheap}.",
                evidence={
                    "cheap_model": cheap,
                    "handoffs": len(every),
                    "handoffs_estimated_on": len(group),
                    "window_days": window_days,
                    "share_to_dearer_models": float(action.mean()),
                    "success_rate_now": success_now,
                    "success_rate_if_cheap": success_cheap.value,
                    "success_rate_if_cheap_95": [success_cheap.low, success_cheap.high],
                    "quality_change": quality_change,
                    "cost_per_task_now_usd": cost_now,
                    "cost_per_task_if_cheap_usd": cost_cheap.value,
                    "estimator": "SNIPS over the logged routing propensities",
                },
                page="app_pages/routing.py",
            )
        )
    return found


def low_cache_hit(cache: pd.DataFrame, prices: pd.DataFrame, window_days: int) -> list[Recommendation]:
    """Per org and project: the cache hit rate (cache reads over input-side tokens); below LOW_CACHE_HIT, the saving
    of reaching TARGET_CACHE_HIT is the input-side tokens that would move from full input price to the cache-read
    price, per model at its list prices."""
    if cache.empty:
        return []
    rows = cache.merge(prices, on=["org_id", "model"], how="left")
    hit_rate = METRICS["cache_hit_rate"]  # the registry's formula, not a second copy of it
    rows["side_tokens"] = rows.eval(hit_rate.denominator.expr)
    rows["hit_tokens"] = rows.eval(hit_rate.numerator.expr)
    rows["price_gap"] = (rows["input_price_per_mtok"] - rows["cache_read_price_per_mtok"]) / MTOK
    found = []
    for (org_id, project_id), group in rows.groupby(["org_id", "project_id"], sort=True):
        side = float(group["side_tokens"].sum())
        if side < MIN_INPUT_SIDE_TOKENS:
            continue
        hit = float(group["hit_tokens"].sum()) / side
        if hit >= LOW_CACHE_HIT:
            continue
        priced = group[group["price_gap"].notna()]
        moved = (TARGET_CACHE_HIT - hit) * priced["side_tokens"]
        saving = per_month(float((moved * priced["price_gap"]).sum()), window_days)
        if saving < MIN_MONTHLY_SAVING_USD:
            continue
        found.append(
            Recommendation(
                kind="low_cache_hit",
                org_id=org_id,
                subject=str(project_id),
                monthly_saving_usd=saving,
                action=f"Put the stable part of {project_id}'s prompts first and mark it cacheable.",
                evidence={
                    "cache_hit_rate": hit,
                    "target_cache_hit_rate": TARGET_CACHE_HIT,
                    "input_side_tokens": side,
                    "window_days": window_days,
                    "models": sorted(group["model"].astype(str)),
                    "unpriced_models": sorted(group.loc[group["price_gap"].isna(), "model"].astype(str)),
                },
                page="app_pages/projects.py",
                query={"projects": str(project_id), "orgs": org_id},
            )
        )
    return found


def expensive_model_short_tasks(
    short_calls: pd.DataFrame, prices: pd.DataFrame, window_days: int
) -> list[Recommendation]:
    """Per org and project: short calls (few output tokens) on the org's most expensive model (highest output
    price), re-priced at the cheapest model of the same provider the org uses; the difference is the saving."""
    if short_calls.empty or prices.empty:
        return []
    found = []
    for org_id, org_prices in prices.groupby("org_id", sort=True):
        used = org_prices[org_prices["model"].isin(short_calls.loc[short_calls["org_id"] == org_id, "model"])]
        if used.empty:
            continue
        dearest = used.sort_values(["output_price_per_mtok", "model"], ascending=[False, True]).iloc[0]
        peers = org_prices[
            (org_prices["provider"] == dearest["provider"])
            & (org_prices["output_price_per_mtok"] < dearest["output_price_per_mtok"])
        ]
        if peers.empty:
            continue
        cheapest = peers.sort_values(["output_price_per_mtok", "model"]).iloc[0]
        calls = short_calls[(short_calls["org_id"] == org_id) & (short_calls["model"] == dearest["model"])]
        for row in calls.itertuples(index=False):
            if row.calls < MIN_SHORT_CALLS:
                continue
            repriced = (
                row.input_tokens * cheapest["input_price_per_mtok"]
                + row.output_tokens * cheapest["output_price_per_mtok"]
                + row.cache_read_tokens * cheapest["cache_read_price_per_mtok"]
                + row.cache_write_tokens * cheapest["cache_write_5m_price_per_mtok"]
            ) / MTOK
            saving = per_month(float(row.cost_usd) - float(repriced), window_days)
            if saving < MIN_MONTHLY_SAVING_USD:
                continue
            found.append(
                Recommendation(
                    kind="expensive_model_short_tasks",
                    org_id=org_id,
                    subject=str(row.project_id),
                    monthly_saving_usd=saving,
                    action=f"Send {row.project_id}'s short calls to {cheapest['model']} instead of {dearest['model']}.",
                    evidence={
                        "model": dearest["model"],
                        "cheaper_model": cheapest["model"],
                        "short_calls": int(row.calls),
                        "cost_usd": float(row.cost_usd),
                        "cost_at_cheaper_model_usd": float(repriced),
                        "window_days": window_days,
                    },
                    page="app_pages/costs.py",
                    query={"dimension": "model", "orgs": org_id, "projects": str(row.project_id)},
                )
            )
    return found


def runaway_agents(
    anomalies: pd.DataFrame | None, spend: pd.DataFrame, last_day, window_days: int
) -> list[Recommendation]:
    """Per org and driving user: the runaway-agent anomalies (daily grain) of the window; their excess over the
    expected level, in calls at the org's cost per call (or in dollars for a cost metric), is what a cap saves."""
    if anomalies is None or anomalies.empty or last_day is None:
        return []
    start = pd.Timestamp(last_day) - pd.Timedelta(days=window_days - 1)
    rows = anomalies[
        (anomalies["kind"] == "runaway_agent")
        & (anomalies["grain"] == "day")
        & (pd.to_datetime(anomalies["start"]) >= start)
    ]
    if rows.empty:
        return []
    cost_per_call = (
        spend.set_index("org_id")["cost_usd"] / spend.set_index("org_id")["calls"].where(lambda c: c > 0)
    ).to_dict()
    found = []
    for (org_id, user), group in rows.groupby(["org_id", rows["driver_user"].fillna("unknown")], sort=True):
        excess = (group["observed"] - group["expected"].fillna(0)).clip(lower=0)
        in_calls = group["metric"] == "calls"
        rate = cost_per_call.get(org_id)
        if in_calls.any() and (rate is None or pd.isna(rate)):
            continue
        excess_usd = float((excess[in_calls] * (rate or 0)).sum() + excess[~in_calls].sum())
        saving = per_month(excess_usd, window_days)
        if saving < MIN_MONTHLY_SAVING_USD:
            continue
        found.append(
            Recommendation(
                kind="runaway_agent",
                org_id=org_id,
                subject=str(user),
                monthly_saving_usd=saving,
                action=f"Add a rule that pauses {user}'s API key when an agent loops (runaway_agent anomaly).",
                evidence={
                    "episodes": len(group),
                    "days": sorted(pd.to_datetime(group["start"]).dt.date.astype(str)),
                    "excess": float(excess.sum()),
                    "metric": sorted(set(group["metric"])),
                    "cost_per_call_usd": rate,
                    "excess_usd": excess_usd,
                    "projects": sorted(set(group["driver_project"].dropna().astype(str))),
                    "window_days": window_days,
                },
                page="app_pages/anomalies.py",
                query={"org": org_id, "kind": "runaway_agent"},
            )
        )
    return found
