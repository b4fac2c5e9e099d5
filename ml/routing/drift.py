"""Drift of routed tasks (the handoffs), per org, on each pipeline run: the latest `CURRENT_DAYS` days against the
`REFERENCE_DAYS` days before them.

- **Feature drift**: the population stability index (PSI) of what the router reads at decision time: the task-type
  mix, the text length (log characters) and three TF-IDF projections of the text (TruncatedSVD fitted on both
  windows' texts, so neither window is favoured). PSI = Σ (c − r) · ln(c / r) over bins (reference deciles for
  numbers, categories for the mix). A PSI alone fires on small samples by chance, so a metric is flagged only
  when the PSI reaches its threshold *and* a chi-square test of the same bins says the windows differ (p < 0.01).
- **Outcome drift**: the verified success rate, current − reference, with a 99% Newcombe (Wilson-score) interval
  (99%, like the features' p < 0.01: about 18 metrics are tested per run); flagged when the interval excludes 0 and
  the change is at least 5 points.

Severity: `ok`, `warn` (PSI ≥ 0.1, or a success-rate change ≥ 5 points), `critical` (PSI ≥ 0.25, or ≥ 10 points),
`insufficient_data` (fewer than `MIN_ROWS` tasks in a window). `drift_events()` gives the flagged rows as events
(org, metric, value, threshold, severity) for automations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

CURRENT_DAYS = 14
REFERENCE_DAYS = 42
MIN_ROWS = 50
BINS = 10
TOPICS = 3
P_VALUE = 0.01
Z = 2.576  # the outcome interval's level: 99%
PSI_WARN, PSI_CRITICAL = 0.1, 0.25
OUTCOME_WARN, OUTCOME_CRITICAL = 0.05, 0.10
SEVERITY_ORDER = {"ok": 0, "insufficient_data": 0, "warn": 1, "critical": 2}


def psi(reference: np.ndarray, current: np.ndarray, bins: int = BINS) -> float:
    """Population stability index of `current` against `reference` (quantile bins of the reference)."""
    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if len(reference) < bins or len(current) == 0:
        return 0.0
    expected, actual = _numeric_counts(reference, current, bins)
    return psi_from_counts(expected, actual)


def _numeric_counts(reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    return np.histogram(reference, edges)[0], np.histogram(current, edges)[0]


def psi_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    expected = np.clip(reference_counts / max(reference_counts.sum(), 1), 1e-6, None)
    actual = np.clip(current_counts / max(current_counts.sum(), 1), 1e-6, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _chi_square_p(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    from scipy.stats import chi2_contingency

    table = np.vstack([reference_counts, current_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table)[1])


def _feature_row(metric: str, reference_counts: np.ndarray, current_counts: np.ndarray, means=(None, None)) -> dict:
    value = psi_from_counts(reference_counts, current_counts)
    p_value = _chi_square_p(reference_counts, current_counts)
    significant = p_value < P_VALUE
    severity = (
        "critical" if significant and value >= PSI_CRITICAL else "warn" if significant and value >= PSI_WARN else "ok"
    )
    return {
        "metric": metric,
        "kind": "feature",
        "value": value,
        "threshold": PSI_WARN,
        "severity": severity,
        "p_value": p_value,
        "reference_value": means[0],
        "current_value": means[1],
        "low": None,
        "high": None,
    }


def _topics(reference: pd.Series, current: pd.Series, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import make_pipeline

    texts = pd.concat([reference, current], ignore_index=True).fillna("").astype(str)
    projection = make_pipeline(
        HashingVectorizer(ngram_range=(1, 2), n_features=2**14, alternate_sign=False, norm=None),
        TfidfTransformer(sublinear_tf=True),
        # ARPACK works on the sparse matrix itself (the randomised solver multiplies dense blocks of every column)
        TruncatedSVD(TOPICS, algorithm="arpack", random_state=seed),
    ).fit_transform(texts)
    return projection[: len(reference)], projection[len(reference) :]


def outcome_row(reference: np.ndarray, current: np.ndarray) -> dict:
    """Success rate current − reference with a 99% Newcombe interval (hybrid Wilson score)."""
    from ml.anomalies.measure import wilson

    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    p_ref, p_cur = reference.mean(), current.mean()
    (ref_low, ref_high), (cur_low, cur_high) = (
        wilson(int(reference.sum()), len(reference), Z),
        wilson(int(current.sum()), len(current), Z),
    )
    change = p_cur - p_ref
    low = change - np.sqrt((p_cur - cur_low) ** 2 + (ref_high - p_ref) ** 2)
    high = change + np.sqrt((cur_high - p_cur) ** 2 + (p_ref - ref_low) ** 2)
    significant = low > 0 or high < 0
    severity = (
        "critical"
        if significant and abs(change) >= OUTCOME_CRITICAL
        else "warn"
        if significant and abs(change) >= OUTCOME_WARN
        else "ok"
    )
    return {
        "metric": "success_rate",
        "kind": "outcome",
        "value": float(change),
        "threshold": OUTCOME_WARN,
        "severity": severity,
        "p_value": None,
        "reference_value": float(p_ref),
        "current_value": float(p_cur),
        "low": float(low),
        "high": float(high),
    }


def compare(reference: pd.DataFrame, current: pd.DataFrame, seed: int = 42) -> list[dict]:
    """Every drift metric of `current` tasks against `reference` tasks (handoff rows: task_text, task_type,
    success, outcome_verified)."""
    if len(reference) < MIN_ROWS or len(current) < MIN_ROWS:
        return [
            {"metric": "all", "kind": "feature", "value": None, "threshold": PSI_WARN, "severity": "insufficient_data"}
        ]
    rows = []
    types = sorted(set(reference["task_type"].fillna("unknown")) | set(current["task_type"].fillna("unknown")))
    counts = [
        frame["task_type"].fillna("unknown").value_counts().reindex(types, fill_value=0).to_numpy()
        for frame in (reference, current)
    ]
    rows.append(_feature_row("task_type_mix", *counts))
    lengths = [
        np.log1p(frame["task_text"].fillna("").astype(str).str.len().to_numpy()) for frame in (reference, current)
    ]
    rows.append(
        _feature_row(
            "text_length", *_numeric_counts(*lengths, BINS), means=tuple(float(np.expm1(x).mean()) for x in lengths)
        )
    )
    reference_topics, current_topics = _topics(reference["task_text"], current["task_text"], seed)
    for index in range(reference_topics.shape[1]):
        rows.append(
            _feature_row(
                f"text_topic_{index + 1}",
                *_numeric_counts(reference_topics[:, index], current_topics[:, index], BINS),
                means=(float(reference_topics[:, index].mean()), float(current_topics[:, index].mean())),
            )
        )
    outcomes = [_verified_outcomes(frame) for frame in (reference, current)]
    if min(len(values) for values in outcomes) >= MIN_ROWS:
        rows.append(outcome_row(*outcomes))
    else:
        rows.append(
            {"metric": "success_rate", "kind": "outcome", "value": None, "threshold": OUTCOME_WARN}
            | {"severity": "insufficient_data"}
        )
    return rows


def _verified_outcomes(frame: pd.DataFrame) -> np.ndarray:
    known = frame["success"].notna()
    if "outcome_verified" in frame:
        known &= frame["outcome_verified"].fillna(False).astype(bool)
    return frame.loc[known, "success"].astype(float).to_numpy()


def routing_drift(handoffs: pd.DataFrame, as_of: date | None = None, seed: int = 42) -> pd.DataFrame:
    """One row per org and metric: the last CURRENT_DAYS days (up to `as_of`, default the latest handoff day)
    against the REFERENCE_DAYS days before."""
    columns = ["org_id", "metric", "kind", "value", "threshold", "severity", "p_value", "reference_value"]
    columns += ["current_value", "low", "high", "reference_rows", "current_rows", "reference_start", "current_start"]
    columns += ["as_of", "computed_at"]
    if handoffs.empty:
        return pd.DataFrame(columns=columns)
    days = (
        pd.to_datetime(handoffs["ts_utc"]).dt.date if "ts_utc" in handoffs else pd.to_datetime(handoffs["day"]).dt.date
    )
    as_of = as_of or max(days)
    current_start = as_of - timedelta(days=CURRENT_DAYS - 1)
    reference_start = current_start - timedelta(days=REFERENCE_DAYS)
    computed_at = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for org_id, group in handoffs.groupby("org_id", sort=True):
        group_days = days.loc[group.index]
        current = group[(group_days >= current_start) & (group_days <= as_of)]
        reference = group[(group_days >= reference_start) & (group_days < current_start)]
        for row in compare(reference, current, seed):
            rows.append(
                {column: None for column in columns}
                | row
                | {
                    "org_id": org_id,
                    "reference_rows": len(reference),
                    "current_rows": len(current),
                    "reference_start": reference_start,
                    "current_start": current_start,
                    "as_of": as_of,
                    "computed_at": computed_at,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def compute_and_store(settings, *, publish: bool = True) -> pd.DataFrame:
    """Drift of the warehouse's handoffs stored as `ml.routing_drift` (the pipeline passes `publish=False`)."""
    from aioa.warehouse.ml_tables import write_ml_tables
    from ml.routing.train import load_handoffs

    frame = routing_drift(load_handoffs(settings, published=publish))
    write_ml_tables(settings, {"routing_drift": frame}, publish=publish)
    return frame


@dataclass(frozen=True)
class DriftEvent:
    """A flagged drift metric, for the rules engine and other automations."""

    org_id: str
    metric: str  # task_type_mix, text_length, text_topic_n, success_rate
    kind: str  # feature or outcome
    value: float  # PSI, or the success-rate change (current − reference)
    threshold: float  # the warn threshold of `value`
    severity: str  # warn or critical
    as_of: str  # last day of the current window
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def events_from_frame(frame: pd.DataFrame | None, min_severity: str = "warn") -> list[DriftEvent]:
    if frame is None or frame.empty:
        return []
    floor = SEVERITY_ORDER[min_severity]
    events = []
    for row in frame.to_dict("records"):
        if row["severity"] not in ("warn", "critical") or SEVERITY_ORDER[row["severity"]] < floor:
            continue
        events.append(
            DriftEvent(
                org_id=str(row["org_id"]),
                metric=row["metric"],
                kind=row["kind"],
                value=float(row["value"]),
                threshold=float(row["threshold"]),
                severity=row["severity"],
                as_of=str(row["as_of"])[:10],
                message=_message(row),
            )
        )
    return events


def _message(row: dict) -> str:
    if row["kind"] == "outcome":
        return (
            f"success rate of routed tasks {row['reference_value']:.1%} → {row['current_value']:.1%} "
            f"({row['value']:+.1%}, 99% CI {row['low']:+.1%} to {row['high']:+.1%})"
        )
    return f"{row['metric'].replace('_', ' ')} drifted: PSI {row['value']:.3f} (threshold {row['threshold']:.2f})"


def drift_events(settings, scope, min_severity: str = "warn") -> list[DriftEvent]:
    """The latest run's flagged drift of the orgs `scope` may read (`aioa.warehouse.access.TenantScope`), from the
    published snapshot's `ml.routing_drift`; [] before the first run."""
    from aioa.warehouse.ml_tables import read_ml_table

    return events_from_frame(read_ml_table(settings, "routing_drift", scope), min_severity)
