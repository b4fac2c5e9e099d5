"""MLflow logging of a detection run: the thresholds as parameters, counts and (with labels) precision/recall."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from aioa.settings import Settings
from ml.anomalies.config import Thresholds
from ml.anomalies.evaluate import Score

EXPERIMENT = "aioa-anomalies"


def log_run(
    settings: Settings,
    thresholds: Thresholds,
    grains: tuple[str, ...],
    anomalies: pd.DataFrame,
    evaluation: Score | None,
) -> str:
    """Log one run in the `aioa-anomalies` experiment; returns the run id."""
    from ml.routing.tracking import configure

    mlflow = configure(settings, EXPERIMENT)  # tracking store and telemetry settings shared with the router
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        mlflow.log_params(thresholds.params() | {"grains": ",".join(grains)})
        metrics = {"anomalies": len(anomalies)}
        metrics |= {f"anomalies__{kind}": int(count) for kind, count in anomalies["kind"].value_counts().items()}
        if evaluation is not None:
            metrics |= {
                "precision": evaluation.precision,
                "recall": evaluation.recall,
                "labels": evaluation.labels,
                "found_labels": evaluation.found_labels,
            }
        mlflow.log_metrics(metrics)
        path = Path(folder) / "anomalies.json"
        path.write_text(anomalies.to_json(orient="records", date_format="iso", indent=2))
        mlflow.log_artifact(str(path))
        if evaluation is not None:
            (Path(folder) / "evaluation.json").write_text(json.dumps(evaluation.to_dict(), indent=2))
            mlflow.log_artifact(str(Path(folder) / "evaluation.json"))
    return run.info.run_id
