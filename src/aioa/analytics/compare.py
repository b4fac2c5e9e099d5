"""Comparisons: this period against the one before, a project against a project, a team against a team, on
per-session cost, with a significance test (Mann–Whitney U, and a bootstrap interval for the difference of the
medians). Session costs are read through the tenant scope; the statistics run on the two arrays."""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from aioa.analytics.filters import Filters, where

Connection = duckdb.DuckDBPyConnection

# What two groups may differ by: the only column names a caller's choice puts into SQL text.
GROUP_COLUMNS = {"team": "team_id", "project": "project_id", "user": "user_id"}
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Comparison:
    """Per-session cost of group A against group B (sessions without a known cost are left out and counted)."""

    label_a: str
    label_b: str
    sessions_a: int
    sessions_b: int
    median_a: float | None
    median_b: float | None
    mean_a: float | None
    mean_b: float | None
    median_difference: float | None  # A minus B
    ci_low: float | None  # 95% bootstrap interval of the difference of the medians
    ci_high: float | None
    p_value: float | None  # Mann–Whitney U, two-sided
    unpriced_sessions: int = 0

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANCE

    @property
    def verdict(self) -> str:
        """The comparison in words, e.g. `A costs more per session than B (p = 0.003)`."""
        if self.p_value is None:
            return f"Too few sessions to compare {self.label_a} with {self.label_b} (at least 2 on each side)."
        if not self.significant:
            return (
                f"No clear difference in cost per session between {self.label_a} and {self.label_b} "
                f"(p = {self.p_value:.3f})."
            )
        direction = "more" if (self.median_difference or 0) > 0 else "less"
        return f"{self.label_a} costs {direction} per session than {self.label_b} (p = {self.p_value:.3g})."


def compare_samples(
    a, b, *, label_a: str = "A", label_b: str = "B", resamples: int = 2000, seed: int = 0, unpriced: int = 0
) -> Comparison:
    """Mann–Whitney U (two-sided) and a percentile bootstrap of median(A) − median(B), vectorised."""
    a = np.asarray(pd.Series(a, dtype="float64").dropna())
    b = np.asarray(pd.Series(b, dtype="float64").dropna())

    def stat(values: np.ndarray, function) -> float | None:
        return float(function(values)) if len(values) else None

    base = {
        "label_a": label_a,
        "label_b": label_b,
        "sessions_a": len(a),
        "sessions_b": len(b),
        "median_a": stat(a, np.median),
        "median_b": stat(b, np.median),
        "mean_a": stat(a, np.mean),
        "mean_b": stat(b, np.mean),
        "unpriced_sessions": unpriced,
    }
    if len(a) < 2 or len(b) < 2:
        return Comparison(**base, median_difference=None, ci_low=None, ci_high=None, p_value=None)
    p_value = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    rng = np.random.default_rng(seed)
    medians_a = np.median(rng.choice(a, size=(resamples, len(a)), replace=True), axis=1)
    medians_b = np.median(rng.choice(b, size=(resamples, len(b)), replace=True), axis=1)
    low, high = np.percentile(medians_a - medians_b, [2.5, 97.5])
    return Comparison(
        **base,
        median_difference=float(np.median(a) - np.median(b)),
        ci_low=float(low),
        ci_high=float(high),
        p_value=p_value,
    )


def session_costs(
    connection: Connection, filters: Filters, scope, group: str | None = None, values: tuple[str, ...] = ()
) -> pd.DataFrame:
    """One row per session in the selection: its group value (team, project or user; `all` without a group), cost,
    calls, errors and length; only `values` of the group when given."""
    clause, params = where(filters, scope, relation="marts.fct_sessions")
    label = f"cast({GROUP_COLUMNS[group]} as varchar)" if group else "'all'"
    if group and values:
        clause += f" and list_contains($group_values, {GROUP_COLUMNS[group]})"
        params["group_values"] = list(values)
    return (
        connection.cursor()
        .execute(
            f"""
        select {label} as group_value, session_key, day, cost_usd, calls, errors, duration_minutes
        from marts.fct_sessions {clause}""",
            params,
        )
        .df()
    )


def _summary(frame: pd.DataFrame) -> dict:
    """Sessions, spend, cost per session, calls and error rate of a set of sessions."""
    return {
        "sessions": len(frame),
        "cost_usd": frame["cost_usd"].sum(min_count=1),
        "cost_per_session_usd": frame["cost_usd"].mean(),
        "median_session_cost_usd": frame["cost_usd"].median(),
        "calls": frame["calls"].sum(),
        "error_rate": frame["errors"].sum() / frame["calls"].sum() if frame["calls"].sum() else None,
        "median_session_minutes": frame["duration_minutes"].median(),
    }


@dataclass(frozen=True)
class Compared:
    """A comparison's summary table (one row per side), its test, and the sessions behind it (`group` = side)."""

    summary: pd.DataFrame
    test: Comparison
    sessions: pd.DataFrame


def _compare(first: pd.DataFrame, second: pd.DataFrame, label_a: str, label_b: str) -> Compared:
    table = pd.DataFrame([{"group": label_a, **_summary(first)}, {"group": label_b, **_summary(second)}])
    unpriced = int(first["cost_usd"].isna().sum() + second["cost_usd"].isna().sum())
    result = compare_samples(first["cost_usd"], second["cost_usd"], label_a=label_a, label_b=label_b, unpriced=unpriced)
    sessions = pd.concat([first.assign(group=label_a), second.assign(group=label_b)], ignore_index=True)
    return Compared(table, result, sessions[["group", "session_key", "day", "cost_usd", "duration_minutes"]])


def compare_periods(connection: Connection, filters: Filters, scope) -> Compared:
    """The selected period against the period of equal length before it."""
    previous = filters.previous_period()
    current = session_costs(connection, filters, scope)
    before = session_costs(connection, previous, scope) if previous != filters else current.iloc[0:0]
    return _compare(current, before, "this period", "the period before")


def compare_groups(connection: Connection, filters: Filters, scope, group: str, first: str, second: str) -> Compared:
    """Two teams, projects or users over the selected period (the sidebar's own team or project filter is lifted
    for the dimension compared: both sides are named here)."""
    lifted = {"team": {"teams": ()}, "project": {"projects": ()}}.get(group, {})
    sessions = session_costs(connection, replace(filters, **lifted), scope, group, (first, second))
    return _compare(
        sessions[sessions["group_value"] == first], sessions[sessions["group_value"] == second], first, second
    )
