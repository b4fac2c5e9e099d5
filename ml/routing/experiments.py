"""A/B experiments between router versions: stable-hash assignment of units (task or user ids) to arms, and the
lift of success rate and cost per task between arms with 95% confidence intervals.

Assignment: u = first 8 bytes of sha256("<experiment>:<unit>") / 2^64 ∈ [0, 1); the unit gets the arm whose
cumulative weight interval contains u. Deterministic (no state), independent across experiments (the salt), and
each arm receives its weight's share of units in expectation.
Lift: difference of means treatment − control with the unpooled normal interval
(two-proportion Wald for success rates, Welch's normal approximation for costs), plus the relative lift.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

Z_95 = 1.959964
MIN_UNITS_PER_ARM = 10


class ExperimentDataError(ValueError):
    """An experiment cannot be assigned or analysed as asked; the message says why."""


def _bucket(unit: str, experiment: str) -> float:
    digest = hashlib.sha256(f"{experiment}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _edges(arms: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    if len(arms) < 2:
        raise ExperimentDataError("an experiment needs at least two arms (router versions)")
    weights = np.array([float(weight) for weight in arms.values()])
    if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
        raise ExperimentDataError(f"arm weights must be non-negative and not all zero: {dict(arms)}")
    return list(arms), np.cumsum(weights / weights.sum())


def assign(unit: str, experiment: str, arms: Mapping[str, float]) -> str:
    """The arm of one unit (same unit, experiment and arms: always the same arm)."""
    names, edges = _edges(arms)
    return names[min(int(np.searchsorted(edges, _bucket(str(unit), experiment), side="right")), len(names) - 1)]


def assign_many(units: Iterable[str], experiment: str, arms: Mapping[str, float]) -> np.ndarray:
    names, edges = _edges(arms)
    buckets = np.fromiter((_bucket(str(unit), experiment) for unit in units), dtype=float)
    positions = np.minimum(np.searchsorted(edges, buckets, side="right"), len(names) - 1)
    return np.asarray(names, dtype=object)[positions]


@dataclass(frozen=True)
class Lift:
    metric: str
    control_mean: float
    treatment_mean: float
    difference: float  # treatment − control
    low: float
    high: float
    relative: float  # difference ÷ control mean
    p_value: float
    n_control: int
    n_treatment: int


def lift(control, treatment, metric: str = "success") -> Lift:
    control, treatment = np.asarray(control, dtype=float), np.asarray(treatment, dtype=float)
    control, treatment = control[~np.isnan(control)], treatment[~np.isnan(treatment)]
    if min(len(control), len(treatment)) < MIN_UNITS_PER_ARM:
        raise ExperimentDataError(
            f"{metric}: too few outcomes per arm ({len(control)} control, {len(treatment)} "
            f"treatment); need at least {MIN_UNITS_PER_ARM} each"
        )
    binary = np.isin(np.concatenate([control, treatment]), (0.0, 1.0)).all()

    def variance(values: np.ndarray) -> float:
        mean = values.mean()
        return float(mean * (1 - mean)) if binary else float(values.var(ddof=1))

    difference = float(treatment.mean() - control.mean())
    error = math.sqrt(variance(control) / len(control) + variance(treatment) / len(treatment))
    p_value = math.erfc(abs(difference) / error / math.sqrt(2)) if error > 0 else (1.0 if difference == 0 else 0.0)
    base = float(control.mean())
    return Lift(
        metric,
        base,
        float(treatment.mean()),
        difference,
        difference - Z_95 * error,
        difference + Z_95 * error,
        difference / base if base else float("nan"),
        p_value,
        len(control),
        len(treatment),
    )


def experiment_report(
    frame: pd.DataFrame,
    control: str,
    arm_column: str = "router_version",
    metrics: tuple[str, ...] = ("success", "cost_usd"),
    by: tuple[str, ...] = ("org_id",),
) -> pd.DataFrame:
    """One row per group (e.g. org), treatment arm and metric: the lift over the control arm with its interval.
    Groups whose arms have too few outcomes are skipped (their reason is in column `note` of a row without lift)."""
    if frame.empty:
        raise ExperimentDataError("no decisions with outcomes to analyse")
    arms = sorted(str(arm) for arm in frame[arm_column].dropna().unique())
    if control not in arms:
        raise ExperimentDataError(f"control arm {control!r} has no decisions with outcomes (arms: {arms})")
    if len(arms) < 2:
        raise ExperimentDataError(f"only one arm ({control}) has decisions with outcomes: nothing to compare")
    rows = []
    groups = frame.groupby(list(by), dropna=False) if by else [((), frame)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        labels = dict(zip(by, key, strict=True))
        base = group[group[arm_column].astype(str) == control]
        for arm in arms:
            if arm == control:
                continue
            treated = group[group[arm_column].astype(str) == arm]
            for metric in metrics:
                try:
                    result = lift(base[metric], treated[metric], metric)
                except ExperimentDataError as error:
                    rows.append(labels | {"control": control, "treatment": arm, "metric": metric, "note": str(error)})
                    continue
                rows.append(labels | {"control": control, "treatment": arm} | result.__dict__ | {"note": None})
    return pd.DataFrame(rows)
