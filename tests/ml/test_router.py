"""The router on generated handoffs beats random and the first version's keyword heuristic and stays below the
oracle; it is tracked in MLflow and promoted only when better; bad input gives a clear message, no model."""

from __future__ import annotations

import pandas as pd
import pytest
from ml.routing.data import RoutingData, RoutingDataError, from_handoffs
from ml.routing.evaluate import evaluate
from ml.routing.train import load_handoffs, train_router

from aioa.settings import Settings


@pytest.fixture(scope="module")
def handoffs(built_home) -> pd.DataFrame:
    return load_handoffs(Settings(home=built_home))


@pytest.fixture(scope="module")
def truth(sample_dir) -> pd.DataFrame:
    return pd.read_csv(sample_dir / "labels" / "routing_truth.csv")


def test_router_beats_baselines_and_stays_below_the_oracle(handoffs, truth):
    evaluation = evaluate(from_handoffs(handoffs), truth)
    routers = evaluation.routers
    assert evaluation.cheap_model == "deepseek-chat" and evaluation.outcomes == "expected"
    assert routers["router"]["apgr"] > routers["keyword heuristic (v1)"]["apgr"] + 0.02
    assert routers["router"]["apgr"] > routers["random"]["apgr"] + 0.05
    assert routers["router"]["apgr"] <= routers["oracle (true probabilities)"]["apgr"] + 0.01
    assert routers["random"]["apgr"] == pytest.approx(0.5)
    assert routers["router"]["auc"] > 0.75
    assert routers["router"]["brier"] < 0.2
    assert routers["router"]["quality_share_of_strong"] >= 0.93  # operating point aims at 95% on validation data
    assert routers["router"]["cpt_50"] < routers["random"]["cpt_50"]


def test_training_is_tracked_and_a_worse_model_is_not_promoted(handoffs, truth, tmp_path, monkeypatch):
    settings = Settings(home=tmp_path / "home")
    monkeypatch.setenv("AIOA_HOME", str(settings.home))
    data = from_handoffs(handoffs)
    first, _ = train_router(settings, data, truth)
    assert first.promoted and first.version == "1"
    again, _ = train_router(settings, data, truth)  # the same model cannot beat itself by the margin
    assert not again.promoted and "does not beat the champion" in again.reason

    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(settings.mlflow_uri)
    run = MlflowClient().get_run(first.run_id)
    assert run.data.metrics["router__apgr"] > 0.55
    artifacts = {item.path for item in MlflowClient().list_artifacts(first.run_id)}
    assert {"calibration.png", "cost_quality_curve.png", "evaluation.json", "routing_meta.json"} <= artifacts
    assert "psi_prediction_vs_champion" in MlflowClient().get_run(again.run_id).data.metrics

    from ml.routing.predict import reload, route, route_batch

    reload()
    decision = route({"task_text": "Please fix the typo in the retry helper.", "task_type": "documentation"},
                     settings)
    hard = route({"task_text": "Please find the race condition in the scheduler considering edge cases and "
                               "performance considering edge cases and performance.", "task_type": "debugging"},
                 settings)
    assert decision.route == "cheap" and decision.target == "deepseek-chat" and decision.confidence > 0.7
    assert hard.confidence < decision.confidence - 0.2
    batch = route_batch(handoffs.head(200), settings)
    assert len(batch) == 200 and set(batch["route"]) == {"cheap", "strong"}


def _data(frame: pd.DataFrame) -> RoutingData:
    return RoutingData(frame, "cheap", "strong")


def test_bad_input_gives_a_clear_message_and_no_model(handoffs):
    with pytest.raises(RoutingDataError, match="no handoffs"):
        from_handoffs(handoffs.head(0))
    with pytest.raises(RoutingDataError, match="one target model"):
        from_handoffs(handoffs[handoffs.target_model == "deepseek-chat"])
    frame = from_handoffs(handoffs).frame
    with pytest.raises(RoutingDataError, match="too little history"):
        evaluate(_data(frame.head(30)))
    one_class = frame.assign(cheap_success=1.0)
    with pytest.raises(RoutingDataError, match="one class"):
        evaluate(_data(one_class))
    constant_text = frame.assign(task_text="same task")
    with pytest.raises(RoutingDataError, match="same text"):
        evaluate(_data(constant_text))


def test_routellm_mmlu_outcomes_beat_random():
    from ml.routing.train import evaluate_dataset

    from tests.conftest import shared_data

    evaluation = evaluate_dataset(shared_data("routellm-mmlu"))
    router = evaluation.routers["router"]
    assert evaluation.test_rows > 3000 and evaluation.outcomes == "observed"
    assert router["apgr"] > 0.53 and router["cpt_50"] < 0.45  # random: APGR 0.5, CPT(50%) 50%
    assert router["quality_all_strong"] == pytest.approx(0.80, abs=0.03)  # GPT-4 on MMLU in RouteLLM's data
    assert evaluation.published is not None and evaluation.to_dict()["published"]["best_cpt_80"] == 0.703


def _outcome_files(folder, cheap: str, strong: str) -> None:
    """A small RouteLLM-format dataset: two subjects where the cheap model mostly fails, two where it mostly wins."""
    import numpy as np

    rng = np.random.default_rng(5)
    for subject, p_cheap in {"algebra": 0.2, "physics": 0.3, "history": 0.9, "marketing": 0.85}.items():
        prompts = [f"{subject} question {index}: which option about {subject} topic {index % 17} is right?"
                   for index in range(120)]
        pd.DataFrame({"prompt": prompts, cheap: rng.random(120) < p_cheap,
                      strong: rng.random(120) < 0.9}).to_csv(folder / f"mmlu_{subject}.csv", index=False)


def test_evaluate_quotes_routellm_beside_ours_only_for_the_same_model_pair(tmp_path):
    import json

    from typer.testing import CliRunner

    from aioa.cli import app

    same, other = tmp_path / "same", tmp_path / "other"
    same.mkdir(), other.mkdir()
    _outcome_files(same, "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")
    _outcome_files(other, "deepseek-chat", "claude-sonnet-4-5")
    runner = CliRunner()
    payload = json.loads(runner.invoke(app, ["route", "evaluate", "--dataset", str(same), "--json"]).stdout)
    assert payload["routers"]["router"]["apgr"] > 0.55  # subject carries the signal here
    published = payload["published"]
    assert "arXiv:2406.18665" in published["source"] and "could not be opened offline" in published["provenance"]
    assert {row["router"]: row["apgr"] for row in published["routers"]}[
        "RouteLLM SW ranking, Arena + MMLU golden labels"] == pytest.approx(0.603)
    shown = runner.invoke(app, ["route", "evaluate", "--dataset", str(same)])
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert "Beside the published results" in text and "ours (held-out split)" in text
    other_payload = json.loads(runner.invoke(app, ["route", "evaluate", "--dataset", str(other), "--json"]).stdout)
    assert other_payload["published"] is None
