"""Baseline routers scored on the same split: always-strong, always-cheap, random, and the first version's keyword
heuristic (route to the strong model when the text contains a "hard" keyword; it claimed 95% accuracy, unmeasured)."""

from __future__ import annotations

import numpy as np
import pandas as pd

HARD_KEYWORDS = (
    "redesign",
    "race condition",
    "concurrency",
    "distributed",
    "optimi",
    "migrate",
    "lock-free",
    "prove",
    "architecture",
    "security",
    "performance",
)


def keyword_scores(texts: pd.Series) -> np.ndarray:
    """1 = cheap (no hard keyword), 0 = strong."""
    lowered = texts.str.lower()
    hard = np.zeros(len(texts), dtype=bool)
    for word in HARD_KEYWORDS:
        hard |= lowered.str.contains(word, regex=False).to_numpy()
    return (~hard).astype(float)


def constant_scores(count: int) -> np.ndarray:
    """Every task tied: the curve is the random router's straight line (APGR 0.5)."""
    return np.full(count, 0.5)
