"""Alert volume where no labels exist (every real dataset): alerts per org-month and how stable it is.

Nothing here says the alerts are right; it says whether their number looks like a detector that works (issue 14's
target is at most one false alarm per org per month): the rate over the scored period, and the last 30 days
against the 60 days before them.
"""

from __future__ import annotations

import pandas as pd

DAYS_PER_MONTH = 30.4375
UNSCORED_DAYS = 28  # the first four weeks are history only (ml/anomalies/config.py: min_history same weekdays)
ALERTS_PER_ORG_MONTH_BAND = 2.0  # above this, more alerts than a detector meeting its false-alarm target gives
RECENT_DAYS, TRAILING_DAYS = 30, 60
SURGE_FACTOR = 3.0  # the recent rate this many times the trailing one (and above 1 per org-month): unstable


def alert_volume(anomalies: pd.DataFrame, org_days: pd.DataFrame) -> dict:
    """`org_days`: one row per org and day with usage (org_id, day). Rates count stored alerts (hour and day
    grain rows alike) per org with usage and month of scored days."""
    org_days = org_days.assign(day=pd.to_datetime(org_days["day"]))
    orgs = org_days["org_id"].nunique()
    first, last = org_days["day"].min(), org_days["day"].max()
    starts = pd.to_datetime(anomalies["start"]) if len(anomalies) else pd.Series(dtype="datetime64[ns]")

    def rate(since: pd.Timestamp, until: pd.Timestamp) -> float | None:
        days = (until - since).days + 1
        if days <= 0 or orgs == 0:
            return None
        count = int(((starts >= since) & (starts < until + pd.Timedelta(days=1))).sum())
        return count / (orgs * days / DAYS_PER_MONTH)

    scored_from = first + pd.Timedelta(days=UNSCORED_DAYS)
    recent_from = last - pd.Timedelta(days=RECENT_DAYS - 1)
    trailing_from = max(recent_from - pd.Timedelta(days=TRAILING_DAYS), scored_from)
    overall = rate(scored_from, last)
    recent = rate(recent_from, last)
    trailing = rate(trailing_from, recent_from - pd.Timedelta(days=1)) if trailing_from < recent_from else None
    ratio = recent / trailing if recent is not None and trailing else None
    surging = ratio is not None and ratio >= SURGE_FACTOR and recent > 1.0
    in_band = overall is not None and overall <= ALERTS_PER_ORG_MONTH_BAND and not surging
    return {
        "alerts": len(anomalies),
        "orgs": orgs,
        "alerts_per_org_month": overall,
        "recent_per_org_month": recent,
        "trailing_per_org_month": trailing,
        "recent_vs_trailing": ratio,
        "band_per_org_month": ALERTS_PER_ORG_MONTH_BAND,
        "in_band": bool(in_band),
    }
