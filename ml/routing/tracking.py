"""MLflow tracking and the model registry: every training run logs parameters, metrics, plots and the model; a new
version becomes `champion` only if it beats the current champion and the baselines (random, keyword heuristic) on
the holdout by PROMOTION_MARGIN (APGR)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aioa.settings import Settings
from ml.routing.evaluate import Evaluation

EXPERIMENT = "routing"
CHAMPION = "champion"
PROMOTION_MARGIN = 0.005
BASELINES = ("random", "keyword heuristic (v1)")  # a new version must beat these on the same holdout
# Our own and scikit-learn's private classes in the pipeline, allowed by the skops (safe) serialisation.
TRUSTED_TYPES = ["ml.routing.model.SuccessRateEncoder", "ml.routing.model._log_tokens",
                 "ml.routing.vectorize.FastTfidfVectorizer",
                 "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration"]


@dataclass
class TrainingOutcome:
    run_id: str
    version: str
    promoted: bool
    reason: str
    metrics: dict


def configure(settings: Settings, experiment: str = EXPERIMENT, artifact_location: Path | None = None):
    """MLflow on the settings' tracking store (telemetry off), with `experiment` created if new and made active."""
    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if settings.mlflow_uri.startswith("sqlite:///"):
        Path(settings.mlflow_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.mlflow_uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        location = artifact_location or settings.mlflow_artifacts
        location.mkdir(parents=True, exist_ok=True)
        mlflow.create_experiment(experiment, artifact_location=location.as_uri())
    mlflow.set_experiment(experiment)
    return mlflow


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of `current` against `reference` (quantile bins of the reference)."""
    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if len(reference) < bins or len(current) == 0:
        return 0.0
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    expected = np.histogram(reference, edges)[0] / len(reference)
    actual = np.histogram(current, edges)[0] / len(current)
    expected, actual = np.clip(expected, 1e-6, None), np.clip(actual, 1e-6, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def log_training(settings: Settings, evaluation: Evaluation, test_frame, params: dict) -> TrainingOutcome:
    """Log the run, register the model, and promote it if it beats the champion by the margin."""
    mlflow = configure(settings)
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    router = evaluation.routers["router"]
    flat = {f"{name.replace(' ', '_').replace('(', '').replace(')', '')}__{key}": value
            for name, result in evaluation.routers.items() for key, value in result.items()
            if isinstance(value, int | float)}
    champion = _champion(client, settings.routing_model_name)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        mlflow.log_params(params | {"cheap_model": evaluation.cheap_model, "strong_model": evaluation.strong_model,
                                    "outcomes": evaluation.outcomes, "train_rows": evaluation.train_rows,
                                    "test_rows": evaluation.test_rows})
        mlflow.log_metrics(flat)
        if champion is not None:
            downloaded = client.download_artifacts(champion.run_id, "reference_scores.json", folder)
            reference = np.array(json.loads(Path(downloaded).read_text()))
            mlflow.log_metric("psi_prediction_vs_champion", psi(reference, evaluation.test_scores))
        folder = Path(folder)
        (folder / "reference_scores.json").write_text(json.dumps(evaluation.test_scores.round(5).tolist()))
        (folder / "evaluation.json").write_text(json.dumps(evaluation.to_dict(), indent=2, default=str))
        (folder / "routing_meta.json").write_text(json.dumps(_meta(evaluation, test_frame)))
        _plots(evaluation, test_frame, folder)
        for name in ("reference_scores.json", "evaluation.json", "routing_meta.json", "calibration.png",
                     "cost_quality_curve.png"):
            mlflow.log_artifact(str(folder / name))
        example = test_frame[["task_text", "task_type", "project_id", "input_tokens"]].head(3)
        signature = infer_signature(example, evaluation.model.predict_proba(example)[:, 1])
        import mlflow.sklearn

        info = mlflow.sklearn.log_model(evaluation.model, name="router", signature=signature, input_example=example,
                                        registered_model_name=settings.routing_model_name,
                                        skops_trusted_types=TRUSTED_TYPES)
        version = str(info.registered_model_version)
    baseline = max(result["apgr"] for name, result in evaluation.routers.items()
                   if name in BASELINES and "apgr" in result)
    promoted, reason = _promote(client, settings.routing_model_name, version, router["apgr"], champion, baseline)
    return TrainingOutcome(run.info.run_id, version, promoted, reason, flat)


def _champion(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def _promote(client, name: str, version: str, apgr: float, champion, baseline: float = 0.5) -> tuple[bool, str]:
    if champion is not None:
        champion_apgr = client.get_run(champion.run_id).data.metrics.get("router__apgr", 0.0)
        if apgr < champion_apgr + PROMOTION_MARGIN:
            return False, (f"not promoted: APGR {apgr:.4f} does not beat the champion (v{champion.version}, "
                           f"{champion_apgr:.4f}) by {PROMOTION_MARGIN}")
    if apgr <= max(0.5, baseline) + PROMOTION_MARGIN:
        return False, (f"not promoted: APGR {apgr:.4f} does not beat the baselines (random 0.5, best baseline "
                       f"{baseline:.4f}) by {PROMOTION_MARGIN}")
    client.set_registered_model_alias(name, CHAMPION, version)
    return True, f"promoted v{version} to {CHAMPION} (APGR {apgr:.4f})"


def _meta(evaluation: Evaluation, test_frame) -> dict:
    def mean(column):
        value = float(np.nanmean(test_frame[column].to_numpy(dtype=float))) if len(test_frame) else float("nan")
        return None if np.isnan(value) else value

    return {"cheap_model": evaluation.cheap_model, "strong_model": evaluation.strong_model,
            "threshold": evaluation.threshold, "cheap_cost_usd": mean("cheap_cost_usd"),
            "strong_cost_usd": mean("strong_cost_usd"), "cheap_latency_ms": mean("cheap_latency_ms"),
            "strong_latency_ms": mean("strong_latency_ms")}


def _plots(evaluation: Evaluation, test_frame, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    observed = test_frame["cheap_success"].notna().to_numpy()
    figure, axis = plt.subplots(figsize=(5, 5))
    if observed.sum() > 10:
        truth = test_frame["cheap_success"].to_numpy()[observed] >= 0.5
        fraction, predicted = calibration_curve(truth, evaluation.test_scores[observed], n_bins=10)
        axis.plot(predicted, fraction, marker="o", label="router")
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axis.set(xlabel="predicted P(cheap model succeeds)", ylabel="observed success rate", title="Calibration")
    axis.legend()
    figure.savefig(folder / "calibration.png", dpi=100)
    plt.close(figure)
    figure, axis = plt.subplots(figsize=(6, 4))
    curve = evaluation.curve
    axis.plot(curve.cost / max(curve.cost[-1], 1e-12), curve.quality, label="router")
    axis.set(xlabel="cost relative to always-strong", ylabel="quality (success rate)", title="Cost–quality curve")
    axis.legend()
    figure.savefig(folder / "cost_quality_curve.png", dpi=100)
    plt.close(figure)
