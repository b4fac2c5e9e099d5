"""One detection run, shared by the CLI and Dagster: detect on the read snapshot, score against labels if given,
store `ml.anomalies` (a new snapshot) and log the run to MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from aioa.settings import Settings
from ml.anomalies.config import DEFAULT_THRESHOLDS, Thresholds
from ml.anomalies.detect import COLUMNS, detect
from ml.anomalies.evaluate import Score, load_labels, matches, score


@dataclass
class AnomalyRun:
    anomalies: pd.DataFrame
    evaluation: Score | None
    notes: list[str] = field(default_factory=list)
    snapshot: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict:
        records = self.anomalies.assign(
            start=self.anomalies["start"].astype(str), end=self.anomalies["end"].astype(str)
        ).to_dict("records")
        return {
            "anomalies": records,
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
            "notes": self.notes,
            "snapshot": self.snapshot,
            "mlflow_run_id": self.run_id,
        }


def default_labels(settings: Settings) -> Path | None:
    path = settings.home / "sample" / "labels" / "anomalies.json"
    return path if path.exists() else None


def run_detection(
    settings: Settings,
    grains: tuple[str, ...] = ("hour", "day"),
    labels: Path | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    store: bool = True,
    track: bool = True,
    publish: bool = True,
) -> AnomalyRun:
    """Raises AnomalyDataError (too little or flat data) and NoSnapshotError (nothing ingested) with clear messages.
    `publish=False` (the pipeline's asset): read the marts the run just built, store without publishing."""
    from aioa.warehouse.snapshots import open_marts

    connection, _ = open_marts(settings, published=publish)
    with connection:
        result = detect(connection, grains, thresholds)
    anomalies = result.anomalies
    evaluation = None
    if labels is not None:
        label_frame = load_labels(labels)
        evaluation = score(anomalies, label_frame)
        matched = matches(anomalies, label_frame).drop_duplicates("detection").set_index("detection")
        anomalies = anomalies.assign(label_kind=matched["kind_label"].reindex(anomalies.index))
    run = AnomalyRun(anomalies, evaluation, result.notes)
    if store:
        from aioa.warehouse.ml_tables import write_ml_tables

        run.snapshot = write_ml_tables(settings, {"anomalies": _storable(anomalies)}, publish=publish)
    if track:
        run.run_id = _log(settings, thresholds, grains, anomalies, evaluation)
    return run


def _storable(anomalies: pd.DataFrame) -> pd.DataFrame:
    """Fixed column types, so that an empty result still makes a well-typed table."""
    frame = anomalies.reindex(columns=[*COLUMNS, "label_kind"])
    types = {
        "start": "datetime64[us]",
        "end": "datetime64[us]",
        "observed": "float64",
        "expected": "float64",
        "score": "float64",
        "driver_project_share": "float64",
        "driver_model_share": "float64",
        "driver_user_share": "float64",
    }
    frame = frame.astype(types)
    text = [column for column in frame.columns if column not in types]
    frame[text] = frame[text].astype("string")
    return frame


def _log(settings, thresholds, grains, anomalies, evaluation) -> str:
    from ml.anomalies.tracking import log_run

    return log_run(settings, thresholds, grains, anomalies, evaluation)
