"""What-if costs: the projected spend under another model mix (move a share of one model's tokens to another,
re-costed at each model's recent per-token cost) or another routing threshold (the champion router's cost curve)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from aioa.settings import Settings


class WhatIfError(ValueError):
    """The what-if cannot be computed; the message says why."""


def parse_mix(text: str) -> tuple[str, str, float]:
    """`SOURCE=TARGET:SHARE`, e.g. `claude-opus-4-6=claude-haiku-4-5-20251001:0.5`."""
    try:
        source, rest = text.split("=", 1)
        target, share = rest.rsplit(":", 1)
        return source.strip(), target.strip(), float(share)
    except ValueError:
        raise WhatIfError(f"cannot read {text!r}: write SOURCE_MODEL=TARGET_MODEL:SHARE (share 0–1)") from None


def priced_models(usage: pd.DataFrame) -> list[str]:
    """Models with priced recent usage, cheapest per token first (the choices a model-mix what-if offers)."""
    by_model = usage.groupby("model")[["total_tokens", "cost_usd"]].sum()
    rate = by_model["cost_usd"] / by_model["total_tokens"].where(by_model["total_tokens"] > 0)
    return rate[rate > 0].sort_values().index.tolist()


def mix_cost_ratio(usage: pd.DataFrame, source: str, target: str, share: float) -> pd.DataFrame:
    """Per org: recent cost, recent cost had `share` of `source`'s tokens gone to `target`, and their ratio.

    `usage`: org_id, model, total_tokens, cost_usd over a recent window. The target's per-token cost is the org's
    own recent one, else the all-org one (an org that never used the target still gets a price)."""
    if not 0 < share <= 1:
        raise WhatIfError(f"share must be in (0, 1], got {share}")
    if source == target:
        raise WhatIfError("source and target model are the same: nothing moves")
    models = sorted(usage["model"].dropna().unique())
    for model in (source, target):
        if model not in models:
            raise WhatIfError(f"unknown model {model!r}: recent models are {', '.join(models)}")
    by_model = usage.groupby("model")[["total_tokens", "cost_usd"]].sum()
    target_rate = (
        by_model.loc[target, "cost_usd"] / by_model.loc[target, "total_tokens"]
        if by_model.loc[target, "total_tokens"] > 0
        else np.nan
    )
    if not target_rate > 0:
        raise WhatIfError(f"{target} has no priced recent usage: its per-token cost is unknown")
    totals = usage.groupby("org_id")["cost_usd"].sum()
    moved = usage[usage["model"] == source].groupby("org_id")[["total_tokens", "cost_usd"]].sum() * share
    org_target = usage[usage["model"] == target].groupby("org_id")[["total_tokens", "cost_usd"]].sum()
    org_rate = org_target["cost_usd"] / org_target["total_tokens"].where(org_target["total_tokens"] > 0)
    rate = org_rate.reindex(totals.index).where(lambda value: value > 0, target_rate)
    delta = moved["total_tokens"].reindex(totals.index, fill_value=0) * rate - moved["cost_usd"].reindex(
        totals.index, fill_value=0
    )
    frame = pd.DataFrame({"recent_cost_usd": totals, "what_if_recent_cost_usd": totals + delta})
    frame["cost_ratio"] = (frame["what_if_recent_cost_usd"] / frame["recent_cost_usd"]).where(
        frame["recent_cost_usd"] > 0, 1.0
    )
    return frame.rename_axis("org_id").reset_index()


def routing_cost_ratio(usage: pd.DataFrame, evaluation: dict, scores: np.ndarray, threshold: float) -> pd.DataFrame:
    """Per org: the cost ratio if the champion router used `threshold` instead of its own.

    The router sends a task to the strong model when its score is below the threshold; on the champion's held-out
    scores that gives the strong-call share, and its cost curve the cost per task at that share. The ratio applies
    to the org's recent spend on the router's two models only."""
    curve = evaluation["router_curve"]
    share_now = float(np.mean(np.asarray(scores) < evaluation["threshold"]))
    share_new = float(np.mean(np.asarray(scores) < threshold))
    cost_now = float(np.interp(share_now, curve["strong_share"], curve["cost"]))
    cost_new = float(np.interp(share_new, curve["strong_share"], curve["cost"]))
    if cost_now <= 0:
        raise WhatIfError("the router's cost curve is zero at its operating point: no cost to scale")
    routed_ratio = cost_new / cost_now
    routed = usage["model"].isin([evaluation["cheap_model"], evaluation["strong_model"]])
    totals = usage.groupby("org_id")["cost_usd"].sum()
    routed_cost = usage[routed].groupby("org_id")["cost_usd"].sum().reindex(totals.index, fill_value=0)
    frame = pd.DataFrame(
        {"recent_cost_usd": totals, "what_if_recent_cost_usd": totals - routed_cost + routed_cost * routed_ratio}
    )
    frame["cost_ratio"] = (frame["what_if_recent_cost_usd"] / frame["recent_cost_usd"]).where(
        frame["recent_cost_usd"] > 0, 1.0
    )
    frame["strong_share_now"], frame["strong_share_what_if"] = share_now, share_new
    frame["quality_what_if"] = float(np.interp(share_new, curve["strong_share"], curve["quality"]))
    return frame.rename_axis("org_id").reset_index()


def champion_router(settings: Settings) -> tuple[dict, np.ndarray]:
    """The champion's evaluation and held-out scores, or a WhatIfError saying a trained router is needed."""
    from ml.routing.predict import champion_evaluation

    evaluation = champion_evaluation(settings)
    if evaluation is None:
        raise WhatIfError("a routing-threshold what-if needs a trained router: run `uv run aioa route train` first")
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as folder:
        path = MlflowClient(settings.mlflow_uri).download_artifacts(
            evaluation["run_id"], "reference_scores.json", folder
        )
        scores = np.array(json.loads(Path(path).read_text()))
    return evaluation, scores


def org_cost_forecast_totals(forecasts: pd.DataFrame) -> pd.DataFrame:
    """org_id, forecast_usd: the org-level cost forecast summed over the horizon (the base a what-if scales)."""
    ahead = forecasts[
        forecasts["project_id"].isna() & (forecasts["metric"] == "cost_usd") & (forecasts["kind"] == "forecast")
    ]
    return ahead.groupby("org_id", as_index=False)["forecast"].sum().rename(columns={"forecast": "forecast_usd"})


def apply_ratio(projections: pd.DataFrame, forecast_totals: pd.DataFrame, ratios: pd.DataFrame) -> pd.DataFrame:
    """Scale each org's forecast (horizon total and the rest of the month) by its cost ratio.

    `projections`: budget_projections rows; `forecast_totals`: org_id, forecast_usd (org-level cost over the
    horizon); `ratios`: org_id, cost_ratio."""
    frame = forecast_totals.merge(
        projections[["org_id", "month_to_date_usd", "forecast_remaining_usd", "projected_month_end_usd", "budget_usd"]],
        on="org_id",
        how="left",
    )
    frame = frame.merge(ratios[["org_id", "cost_ratio"]], on="org_id", how="left")
    frame["cost_ratio"] = frame["cost_ratio"].fillna(1.0)
    frame["what_if_forecast_usd"] = frame["forecast_usd"] * frame["cost_ratio"]
    frame["what_if_month_end_usd"] = frame["month_to_date_usd"] + frame["forecast_remaining_usd"] * frame["cost_ratio"]
    frame["saving_usd"] = frame["forecast_usd"] - frame["what_if_forecast_usd"]
    return frame
