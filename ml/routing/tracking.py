"""MLflow tracking, the model registry and the promotion rule: every training run logs parameters, metrics, plots
and the model; a new version becomes `champion` only if, on the SAME held-out tasks, a paired bootstrap shows it
beats the baselines (random, keyword heuristic) and the current champion (scored afresh on those tasks): the 95%
interval of the APGR difference lies above zero. `promotion_status()` is what the Dagster check reports."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aioa.settings import Settings
from ml.routing.drift import psi
from ml.routing.evaluate import Evaluation
from ml.routing.model import features_frame

EXPERIMENT = "aioa-routing"  # aioa-routing, aioa-forecasts, aioa-anomalies: one prefix in the MLflow UI
CHAMPION = "champion"
BASELINES = ("random", "keyword_heuristic_v1")  # a new version must beat these on the same holdout
RESAMPLES = 1000
# Our own and scikit-learn's private classes in the pipeline, allowed by the skops (safe) serialisation.
TRUSTED_TYPES = [
    "ml.routing.model.OutcomePairClassifier",
    "ml.routing.model.text_form",
    "ml.routing.model._log1p",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    outcome: str  # "promoted", "below_baselines" or "not_better_than_champion"
    reason: str
    comparisons: dict  # opponent id -> paired bootstrap of the APGR difference (challenger − opponent)


def promotion_decision(
    challenger,
    cheap_outcome,
    strong_outcome,
    baselines: dict[str, np.ndarray],
    champion=None,
    champion_version: str | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> PromotionDecision:
    """The promotion rule. All scores are on the same held-out tasks; the challenger must beat every baseline and
    the champion with the 95% paired-bootstrap interval of the APGR difference above zero."""
    from ml.routing.metrics import paired_bootstrap_apgr

    comparisons = {
        name: paired_bootstrap_apgr(challenger, scores, cheap_outcome, strong_outcome, resamples, seed)
        for name, scores in baselines.items()
    }
    failing = [name for name, result in comparisons.items() if result["low"] <= 0]
    if failing:
        return PromotionDecision(
            False,
            "below_baselines",
            "not promoted: does not beat the baselines ("
            + ", ".join(
                f"{name}: APGR difference {comparisons[name]['difference']:+.4f}, 95% interval "
                f"{comparisons[name]['low']:+.4f} to {comparisons[name]['high']:+.4f}"
                for name in failing
            )
            + ")",
            comparisons,
        )
    if champion is not None:
        result = comparisons["champion"] = paired_bootstrap_apgr(
            challenger, champion, cheap_outcome, strong_outcome, resamples, seed
        )
        if result["low"] <= 0:
            return PromotionDecision(
                False,
                "not_better_than_champion",
                (
                    f"not promoted: does not beat the champion (v{champion_version}) on the same held-out tasks: APGR "
                    f"difference {result['difference']:+.4f}, 95% interval {result['low']:+.4f} to "
                    f"{result['high']:+.4f}"
                ),
                comparisons,
            )
    return PromotionDecision(
        True,
        "promoted",
        "beats the baselines"
        + (
            f" and the champion (v{champion_version}, APGR difference {comparisons['champion']['difference']:+.4f}, "
            f"95% interval {comparisons['champion']['low']:+.4f} to {comparisons['champion']['high']:+.4f})"
            if champion is not None
            else ""
        ),
        comparisons,
    )


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


def log_training(settings: Settings, evaluation: Evaluation, test_frame, params: dict) -> TrainingOutcome:
    """Log the run, register the model, and promote it if it beats the champion by the margin."""
    mlflow = configure(settings)
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    flat = {
        f"{name}__{key}": value
        for name, result in evaluation.routers.items()
        for key, value in result.items()
        if isinstance(value, int | float)
    }
    champion = _champion(client, settings.routing_model_name)
    decision = _decide(settings, evaluation, champion)
    flat |= {
        f"promotion__{name}__{key}": value
        for name, result in decision.comparisons.items()
        for key, value in result.items()
        if key in ("difference", "low", "high")
    }
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        mlflow.log_params(
            params
            | {
                "cheap_model": evaluation.cheap_model,
                "strong_model": evaluation.strong_model,
                "outcomes": evaluation.outcomes,
                "train_rows": evaluation.train_rows,
                "test_rows": evaluation.test_rows,
                "split": evaluation.split,
            }
        )
        mlflow.log_metrics(flat)
        mlflow.set_tags(
            {
                "promotion_outcome": decision.outcome,
                "promotion_reason": decision.reason[:4000],
                "champion_at_training": champion.version if champion is not None else "none",
            }
        )
        if champion is not None:
            downloaded = client.download_artifacts(champion.run_id, "reference_scores.json", folder)
            reference = np.array(json.loads(Path(downloaded).read_text()))
            mlflow.log_metric("psi_prediction_vs_champion", psi(reference, evaluation.test_scores))
        folder = Path(folder)
        (folder / "reference_scores.json").write_text(json.dumps(evaluation.test_scores.round(5).tolist()))
        (folder / "evaluation.json").write_text(json.dumps(evaluation.to_dict(), indent=2, default=str))
        (folder / "routing_meta.json").write_text(json.dumps(_meta(evaluation, test_frame)))
        _plots(evaluation, test_frame, folder)
        for name in (
            "reference_scores.json",
            "evaluation.json",
            "routing_meta.json",
            "calibration.png",
            "cost_quality_curve.png",
        ):
            mlflow.log_artifact(str(folder / name))
        example = features_frame(test_frame.head(3))
        signature = infer_signature(example, evaluation.model.predict_proba(example)[:, 1])
        import mlflow.sklearn

        info = mlflow.sklearn.log_model(
            evaluation.model,
            name="router",
            signature=signature,
            input_example=example,
            registered_model_name=settings.routing_model_name,
            skops_trusted_types=TRUSTED_TYPES,
        )
        version = str(info.registered_model_version)
    if decision.promoted:
        client.set_registered_model_alias(settings.routing_model_name, CHAMPION, version)
        from ml.routing.predict import Champion, save_local_champion

        # the serving copy: `route()` and `aioa route predict` load it without MLflow
        meta = _meta(evaluation, test_frame)
        save_local_champion(settings, Champion(evaluation.model, meta, version, run.info.run_id))
        reason = (
            f"promoted v{version} to {CHAMPION} (APGR {evaluation.routers['router']['apgr']:.4f}): {decision.reason}"
        )
    else:
        reason = decision.reason
    return TrainingOutcome(run.info.run_id, version, decision.promoted, reason, flat)


def _decide(settings: Settings, evaluation: Evaluation, champion) -> PromotionDecision:
    """Score the champion afresh on the challenger's held-out tasks, then apply the promotion rule."""
    from ml.routing.evaluate import candidate_scores
    from ml.routing.model import score

    frame, cheap, strong = evaluation.test_frame, evaluation.cheap_outcome, evaluation.strong_outcome
    challenger = score(evaluation.model, frame).routing
    candidates = candidate_scores(frame, challenger, cheap, strong)
    champion_scores = None
    if champion is not None:
        from ml.routing.predict import champion as load_champion

        try:
            champion_scores = score(load_champion(settings, str(champion.version)).model, frame).routing
        except Exception as error:  # a champion this code can no longer load or score cannot defend its place
            import logging

            logging.getLogger(__name__).warning(
                "champion v%s cannot be scored (%s): compared with the baselines only", champion.version, error
            )
    return promotion_decision(
        challenger,
        cheap,
        strong,
        {name: candidates[name] for name in BASELINES},
        champion_scores,
        champion.version if champion is not None else None,
    )


@dataclass(frozen=True)
class PromotionStatus:
    passed: bool
    severity: str | None  # "error" (below the baselines: it must not ship), "warn" (the champion keeps serving)
    description: str
    metadata: dict


def promotion_status(settings: Settings, version: str) -> PromotionStatus:
    """Whether `version` is the champion and, if not, why (as decided by `promotion_decision` at training time)."""
    configure(settings)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.mlflow_uri)
    name = settings.routing_model_name
    run = client.get_run(client.get_model_version(name, version).run_id)
    champion = _champion(client, name)
    tags, logged = run.data.tags, run.data.metrics
    metadata = {
        "version": version,
        "apgr": logged.get("router__apgr", 0.0),
        "champion_version": champion.version if champion else "none",
        "promotion_outcome": tags.get("promotion_outcome", "unknown"),
        **{key: value for key, value in logged.items() if key.startswith("promotion__")},
    }
    reason = tags.get("promotion_reason", "no promotion decision logged")
    if champion is not None and str(champion.version) == str(version):
        return PromotionStatus(True, None, f"v{version} is the champion: {reason}", metadata)
    if tags.get("promotion_outcome") == "not_better_than_champion":
        return PromotionStatus(False, "warn", f"v{version}: {reason}; the champion keeps serving", metadata)
    return PromotionStatus(False, "error", f"v{version}: {reason}; it does not ship", metadata)


def _champion(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def _meta(evaluation: Evaluation, test_frame) -> dict:
    def mean(column):
        value = float(np.nanmean(test_frame[column].to_numpy(dtype=float))) if len(test_frame) else float("nan")
        return None if np.isnan(value) else value

    return {
        "cheap_model": evaluation.cheap_model,
        "strong_model": evaluation.strong_model,
        "threshold": evaluation.threshold,
        "cheap_cost_usd": mean("cheap_cost_usd"),
        "strong_cost_usd": mean("strong_cost_usd"),
        "cheap_latency_ms": mean("cheap_latency_ms"),
        "strong_latency_ms": mean("strong_latency_ms"),
    }


def _plots(evaluation: Evaluation, test_frame, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    observed = test_frame["cheap_success"].notna().to_numpy()
    figure, axis = plt.subplots(figsize=(5, 5))
    if observed.sum() > 10:
        truth = test_frame["cheap_success"].to_numpy()[observed] >= 0.5
        fraction, predicted = calibration_curve(truth, evaluation.test_p_cheap[observed], n_bins=10)
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
