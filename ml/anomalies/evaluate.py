"""Score detections against labelled anomalies (the generator's `labels/anomalies.json`): precision and recall.

Matching rule: a detection matches a label when the org is the same, the time windows overlap (the detection is
[start, end), the label [start, end] as written) and the kind is compatible: the same kind, except that a
runaway agent may also be reported as a usage surge (one session's loop is a surge of calls). A detection counts
as correct when it matches any label; a label counts as found when any detection matches it. The detections are
the detector's alerts, one per event (`detect.alerts`): an event seen at several grains and levels counts once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

COMPATIBLE = {"runaway_agent": {"runaway_agent", "usage_surge"}}


@dataclass
class Score:
    precision: float
    recall: float
    detections: int
    labels: int
    matched_detections: int
    found_labels: int
    missed: list[dict]
    unmatched: list[dict]

    def to_dict(self) -> dict:
        return self.__dict__


def load_labels(path: Path) -> pd.DataFrame:
    labels = pd.DataFrame(json.loads(Path(path).read_text()))
    for column in ("start", "end"):
        labels[column] = pd.to_datetime(labels[column], utc=True).dt.tz_localize(None)
    return labels


def matches(detections: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Every (detection, label) pair that matches: detection index `detection`, label index `label`."""
    pairs = detections.reset_index(names="detection").merge(
        labels.reset_index(names="label"), on="org_id", suffixes=("", "_label")
    )
    overlap = (pairs["start"] <= pairs["end_label"]) & (pairs["start_label"] < pairs["end"])
    compatible = [
        kind in COMPATIBLE.get(label_kind, {label_kind})
        for kind, label_kind in zip(pairs["kind"], pairs["kind_label"], strict=True)
    ]
    return pairs[overlap & pd.Series(compatible, index=pairs.index, dtype=bool)]


def score(detections: pd.DataFrame, labels: pd.DataFrame) -> Score:
    matched = matches(detections, labels)
    found, correct = set(matched["label"]), set(matched["detection"])
    precision = len(correct) / len(detections) if len(detections) else 0.0
    recall = len(found) / len(labels) if len(labels) else 0.0
    keep = ["org_id", "kind", "start", "end"]
    return Score(
        precision,
        recall,
        len(detections),
        len(labels),
        len(correct),
        len(found),
        labels.loc[~labels.index.isin(found), keep].astype(str).to_dict("records"),
        detections.loc[~detections.index.isin(correct), keep].astype(str).to_dict("records"),
    )
