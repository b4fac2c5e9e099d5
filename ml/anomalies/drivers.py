"""What drove an anomaly: each project's, model's and user's share of the excess over their usual share."""

from __future__ import annotations

import pandas as pd

REFERENCE_DAYS = 28  # a member's usual share of the org comes from the 28 days before the anomaly
MIN_LISTED_SHARE = 0.05
DIMENSIONS = {"project_id": "project", "model": "model", "user_id": "user"}


def usage_drivers(
    usage: pd.DataFrame, org: str, metric: str, start: pd.Timestamp, end: pd.Timestamp, grain: str
) -> dict:
    """Excess of each member = its value in [start, end) minus what its usual share of the org would give."""
    org_usage = usage[usage["org_id"] == org]
    window = org_usage[(org_usage["period"] >= start) & (org_usage["period"] < end)]
    reference = org_usage[
        (org_usage["period"] < start) & (org_usage["period"] >= start - pd.Timedelta(days=REFERENCE_DAYS))
    ]
    periods = (end - start) / (pd.Timedelta(hours=1) if grain == "hour" else pd.Timedelta(days=1))
    reference_periods = REFERENCE_DAYS * (24 if grain == "hour" else 1)
    excess = {}
    for dimension in DIMENSIONS:
        observed = window.groupby(dimension)[metric].sum()
        usual = reference.groupby(dimension)[metric].sum() / reference_periods * periods
        excess[dimension] = observed.sub(usual, fill_value=0.0)
    return driver_columns(excess)


def driver_columns(excess: dict[str, pd.Series]) -> dict:
    """The top member of each dimension with its share of the positive excess, and a readable summary."""
    columns, parts = {}, []
    for dimension, name in DIMENSIONS.items():
        positive = excess[dimension][excess[dimension] > 0].sort_values(ascending=False)
        shares = positive / positive.sum() if positive.sum() > 0 else positive
        top = shares.index[0] if len(shares) else None
        columns[f"driver_{name}"] = top
        columns[f"driver_{name}_share"] = float(shares.iloc[0]) if len(shares) else None
        parts += [
            f"{name} {member} {share:.0%}" for member, share in shares.head(3).items() if share >= MIN_LISTED_SHARE
        ]
    columns["drivers"] = ", ".join(parts)
    return columns
