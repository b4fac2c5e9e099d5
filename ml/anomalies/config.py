"""The detector's thresholds, fixed a priori (the same for every dataset and seed; never tuned on the labels)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

GRAINS = ("hour", "day")
KINDS = ("cost_spike", "usage_surge", "error_burst", "runaway_agent", "latency_degradation")


@dataclass(frozen=True)
class Thresholds:
    score: float = 6.0  # robust score of calls, sessions, errors and cost above which a period is anomalous
    latency_score: float = 4.0  # z of a day's mean log-latency; log-latency is close to normal, so this is a true z
    lookback_day: int = 8  # same-weekday observations in the reference window (8 weeks)
    lookback_hour: int = 16  # same-hour observations of the same day type (weekday / weekend)
    min_history: int = 4  # a period is scored only with this many reference observations before it
    unit_quantile_day: float = 0.5  # the scale floor: this quantile of the series' non-zero values ...
    unit_quantile_hour: float = 0.9  # ... higher for hours, whose activity comes in whole-session bursts,
    unit_quantile_cost: float = 0.9  # ... and for cost, heavy-tailed (one opus session costs 20 haiku ones)
    latency_min_ratio: float = 2.0  # ... and the day's mean latency at least this many times the usual one
    latency_lookback_days: int = 28
    latency_min_calls: int = 8  # calls with a latency in the reference window before a day is scored
    cost_per_call_ratio: float = 3.0  # window cost per call this many times normal: a cost spike
    runaway_session_share: float = 0.5  # one session holds this share of the excess calls ...
    runaway_session_factor: float = 20.0  # ... and is this many times the org's median session: a runaway agent
    error_share: float = 0.5  # errors are this share of the excess calls: an error burst

    def params(self) -> dict:
        return asdict(self)


DEFAULT_THRESHOLDS = Thresholds()
