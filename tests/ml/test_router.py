"""The router on generated handoffs (held-out templates) beats random and the first version's keyword heuristic and
stays below the Bayes-optimal router from the text and the oracle; on RouteLLM's MMLU outcomes it beats the baselines
on a prompt split and on held-out subjects; trained on shuffled labels it is no better than random; the threshold
never reads generator truth; it is tracked in MLflow and promoted only when a paired bootstrap on the same held-out
tasks says it is better; bad input gives a clear message, no model."""

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


def test_router_beats_baselines_and_stays_below_the_oracle(
    sample_dir, handoffs, truth, evaluation_by_template, monkeypatch
):
    import json
    from types import SimpleNamespace

    from ml.routing import train
    from ml.routing.cli import _optimal_caption
    from typer.testing import CliRunner

    from aioa.cli import app

    # `route evaluate` on the sample reads the same handoffs and truth as the module's evaluation, with the same seed
    # and split (checked here), so it is given that evaluation; the CLI still loads the dataset, serialises and prints
    expected = from_handoffs(handoffs).frame

    def shared_evaluation(data, given_truth, seed, **options):
        assert data.frame.equals(expected) and given_truth.equals(truth)
        assert (seed, options) == (42, {"split": "template"})
        return evaluation_by_template[0]

    monkeypatch.setattr(train, "evaluate", shared_evaluation)
    result = CliRunner().invoke(app, ["route", "evaluate", "--dataset", str(sample_dir), "--json"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.stdout)
    routers = evaluation["routers"]
    assert evaluation["cheap_model"] == "deepseek-chat" and evaluation["outcomes"] == "expected"
    assert evaluation["split"] == "template"  # a generated sample is split by template unless told otherwise
    assert "Bayes-optimal router from the text's" in _optimal_caption(SimpleNamespace(routers=routers))
    router = routers["router"]
    assert router["apgr"] > routers["keyword_heuristic_v1"]["apgr"]
    assert router["apgr_low"] > routers["random"]["apgr"] + 0.03
    # Below what the text allows (the Bayes-optimal router from the text) and below the oracle, which knows what no
    # text shows; the text-only optimum is itself below the oracle (difficulty is only partly in the text).
    assert router["apgr"] < routers["bayes_text"]["apgr"] < routers["oracle"]["apgr"]
    assert routers["oracle"]["label"] == "oracle (true probabilities)"
    assert routers["bayes_text"]["label"] == "Bayes-optimal from the text"
    assert 0.6 < router["auc"] < 0.9 and router["brier"] < 0.25
    assert router["quality_share_of_strong"] >= 0.93  # operating point aims at 95% on validation data
    assert router["cpt_50"] < routers["random"]["cpt_50"]
    # Its share of the optimal savings at 95% of the strong model's quality is reported (the 0.9 target is missed
    # on this small sample: docs/routing.md gives the numbers).
    shares = {key: router[f"savings_share_of_{key}"] for key in ("oracle", "bayes_text")}
    assert 0 < shares["oracle"] < shares["bayes_text"] < 1
    assert router["savings_share_of_bayes_text"] == pytest.approx(
        router["cost_saved_at_95pct_quality"] / routers["bayes_text"]["cost_saved_at_95pct_quality"]
    )


def test_train_and_test_use_disjoint_templates(handoffs, truth):
    from ml.routing.data import attach_templates, split_by_template

    data = attach_templates(from_handoffs(handoffs), truth)
    train, test = split_by_template(data.frame, seed=42)
    assert set(train["template_id"]).isdisjoint(test["template_id"]) and test["template_id"].nunique() >= 8
    assert set(train["task_text"]).isdisjoint(test["task_text"])  # no held-out text was seen in training
    assert not {"difficulty", "p_success_cheap", "p_success_strong"} & set(data.frame.columns)


def _record_inputs(monkeypatch, seen: list) -> None:
    """Make evaluate() record the columns its model fits and its threshold choice receive."""
    from ml.routing import evaluate as evaluate_module
    from ml.routing.evaluate import choose_threshold
    from ml.routing.model import fit

    def recording_fit(frame, seed=42):
        seen.append(set(frame.columns))
        return fit(frame, seed)

    def recording_threshold(model, validation):
        seen.append(set(validation.columns))
        return choose_threshold(model, validation)

    monkeypatch.setattr(evaluate_module, "fit", recording_fit)
    monkeypatch.setattr(evaluate_module, "choose_threshold", recording_threshold)


@pytest.fixture(scope="module")
def evaluation_by_template(handoffs, truth):
    """What train_router evaluates on these handoffs (split by template, seed 42, default resamples), computed once
    for the module, with the columns the model and the threshold received."""
    seen = []
    with pytest.MonkeyPatch.context() as patch:
        _record_inputs(patch, seen)
        evaluation = evaluate(from_handoffs(handoffs), truth, split="template")
    return evaluation, seen


def test_training_is_tracked_and_a_worse_model_is_not_promoted(
    handoffs, truth, evaluation_by_template, tmp_path, monkeypatch
):
    from ml.routing import train
    from ml.routing.data import attach_templates

    settings = Settings(home=tmp_path / "home")
    monkeypatch.setenv("AIOA_HOME", str(settings.home))
    # Training on these handoffs fits the model the module's evaluation fitted (same data, split and seed): both
    # runs reuse it (checked below) and still log, register and face the champion scored afresh.
    expected = attach_templates(from_handoffs(handoffs), truth).frame

    def shared_evaluation(data, given_truth, seed, **options):
        assert data.frame.equals(expected) and given_truth is truth and (seed, options) == (42, {"split": "template"})
        return evaluation_by_template[0]

    monkeypatch.setattr(train, "evaluate", shared_evaluation)
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
    decision = route(
        {
            "task_text": "Please add a docstring to the retry helper in a single function (the code is Python).",
            "task_type": "documentation",
        },
        settings,
    )
    hard = route(
        {
            "task_text": "Could you find the race condition in the legacy scheduler across all services in C++ "
            "so that it stays thread-safe without downtime?",
            "task_type": "debugging",
        },
        settings,
    )
    assert decision.route == "cheap" and decision.target == "deepseek-chat" and decision.confidence > 0.6
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


@pytest.fixture(scope="module")
def mmlu():
    from ml.routing.data import from_routing_csvs

    from tests.conftest import shared_data

    return from_routing_csvs(shared_data("routellm-mmlu"))


def test_routellm_mmlu_prompt_split_reaches_the_target(mmlu):
    evaluation = evaluate(mmlu)
    routers = evaluation.routers
    router = routers["router"]
    assert evaluation.test_rows > 3000 and evaluation.outcomes == "observed"
    assert router["apgr"] >= 0.65 and router["apgr_low"] > 0.6  # issue 14 target; random 0.5
    assert router["cpt_50"] < 0.35 and router["cpt_80"] < 0.7
    assert router["quality_all_strong"] == pytest.approx(0.80, abs=0.03)  # GPT-4 on MMLU in RouteLLM's data
    assert router["apgr"] > routers["keyword_heuristic_v1"]["apgr"] + 0.1
    assert routers["oracle"]["apgr"] > router["apgr"]
    assert "validation" in evaluation.threshold_source
    # Handoff accuracy is printed beside always-cheap's; at an operating point that keeps 95% of the strong model's
    # quality the router escalates tasks the cheap model would solve, so it is lower (docs/routing.md says so).
    assert router["quality_share_of_strong"] >= 0.93 and 0.5 < router["handoff_accuracy"] < 1
    assert routers["always_cheap"]["handoff_accuracy"] == pytest.approx(routers["always_cheap"]["quality"])
    assert "published" not in evaluation.to_dict()  # no figures quoted without a checkable citation


def test_routellm_mmlu_unseen_subjects_still_beat_random(mmlu):
    evaluation = evaluate(mmlu, split="group")
    held_out = set(evaluation.test_frame["task_type"])  # 17 of 57 subjects, none of them seen in training
    assert evaluation.split == "group" and len(held_out) == 17
    router = evaluation.routers["router"]
    assert router["apgr_low"] > 0.5 and router["apgr"] > 0.55  # below the prompt split: no subject base rates


def test_a_router_trained_on_shuffled_labels_is_no_better_than_random(handoffs, truth):
    import numpy as np

    frame = from_handoffs(handoffs).frame
    rng = np.random.default_rng(3)
    shuffled = frame.assign(
        cheap_success=rng.permutation(frame["cheap_success"].to_numpy()),
        strong_success=rng.permutation(frame["strong_success"].to_numpy()),
    )
    evaluation = evaluate(_data(shuffled), truth, split="template")
    router = evaluation.routers["router"]
    # Within noise of random. The bootstrap interval resamples held-out tasks for one fixed scorer; a scorer fitted
    # to noise is a random direction in features that do correlate with difficulty (length, task type), so its APGR
    # also varies with the shuffle (this seed: interval 0.535-0.56 on expected outcomes, not covering 0.5). The
    # interval alone is too narrow a yardstick; the bound allows that spread.
    assert router["apgr_low"] <= 0.5 <= router["apgr_high"] or abs(router["apgr"] - 0.5) < 0.06
    assert evaluation.routers["bayes_text"]["apgr"] > router["apgr_high"] + 0.08  # the held-out tasks carry signal


def test_the_threshold_never_reads_generator_truth(handoffs, truth, evaluation_by_template, monkeypatch):
    import inspect

    import numpy as np
    from ml.routing.evaluate import choose_threshold
    from ml.routing.model import fit

    assert list(inspect.signature(choose_threshold).parameters) == ["model", "validation"]
    frame = from_handoffs(handoffs).frame
    leaked = frame.merge(truth[["task_id", "p_success_cheap", "p_success_strong"]], on="task_id")
    with pytest.raises(AssertionError, match="unobservable"):
        fit(leaked)
    with pytest.raises(AssertionError, match="unobservable"):
        evaluate(_data(leaked))
    # What the model and the threshold actually receive (a split by template joins template ids from the truth):
    # no truth column is in their input. `first` is evaluate(from_handoffs(handoffs), truth, split="template").
    first, seen = evaluation_by_template[0], list(evaluation_by_template[1])
    _record_inputs(monkeypatch, seen)
    # Truth only turns held-out outcomes into expected ones: a scrambled truth changes the metrics, not the threshold
    scrambled = truth.assign(p_success_cheap=np.random.default_rng(1).permutation(truth["p_success_cheap"]))
    second = evaluate(_data(frame), scrambled, split="template", resamples=10)
    assert len(seen) == 6 and all("template_id" in columns for columns in seen)
    assert not any(column.startswith(("p_success", "difficulty")) for columns in seen for column in columns)
    assert first.threshold == second.threshold and "validation" in first.threshold_source
    assert first.routers["router"]["apgr"] != second.routers["router"]["apgr"]
    with pytest.raises(AssertionError, match="unobservable"):  # a fitted model (the one above) refuses it too
        choose_threshold(first.model, leaked)


def test_a_worse_challenger_is_never_promoted():
    import numpy as np
    from ml.routing.tracking import promotion_decision

    rng = np.random.default_rng(0)
    n = 2000
    signal = rng.random(n)
    cheap, strong = (rng.random(n) < signal).astype(float), (rng.random(n) < 0.9).astype(float)
    champion = signal + rng.normal(0, 0.2, n)
    baselines = {"random": np.full(n, 0.5)}
    worse = signal + rng.normal(0, 1.0, n)
    shuffled = rng.permutation(champion)
    for challenger in (worse, shuffled, champion):  # noisier, label-free, and identical: none is promoted
        decision = promotion_decision(challenger, cheap, strong, baselines, champion, "1", resamples=300)
        assert not decision.promoted and decision.outcome in ("not_better_than_champion", "below_baselines")
    # Without a champion, label-free scores face the baselines alone: the one-sided 2.5% error of the interval
    promoted = sum(
        promotion_decision(rng.permutation(champion), cheap, strong, baselines, resamples=200).promoted
        for _ in range(20)
    )
    assert promoted <= 2  # expected 0.5 of 20
    better = promotion_decision(signal, cheap, strong, baselines, champion, "1", resamples=300)
    assert better.promoted and better.comparisons["champion"]["low"] > 0


def _outcome_files(folder, cheap: str, strong: str) -> None:
    """A small RouteLLM-format dataset: two subjects where the cheap model mostly fails, two where it mostly wins."""
    import numpy as np

    rng = np.random.default_rng(5)
    for subject, p_cheap in {"algebra": 0.2, "physics": 0.3, "history": 0.9, "marketing": 0.85}.items():
        prompts = [
            f"{subject} question {index}: which option about {subject} topic {index % 17} is right?"
            for index in range(120)
        ]
        pd.DataFrame({"prompt": prompts, cheap: rng.random(120) < p_cheap, strong: rng.random(120) < 0.9}).to_csv(
            folder / f"mmlu_{subject}.csv", index=False
        )


def test_evaluate_prints_every_baseline_on_the_same_split(tmp_path, monkeypatch):
    import json

    from ml.routing import train
    from typer.testing import CliRunner

    from aioa.cli import app

    # The table and the JSON of one dataset, seed and split show the same (deterministic) evaluation: it is computed
    # once, the CLI still parses, evaluates and renders each call.
    evaluations, evaluate_dataset = {}, train.evaluate_dataset

    def evaluate_once(*arguments):
        if arguments not in evaluations:
            evaluations[arguments] = evaluate_dataset(*arguments)
        return evaluations[arguments]

    monkeypatch.setattr(train, "evaluate_dataset", evaluate_once)
    folder = tmp_path / "outcomes"
    folder.mkdir()
    _outcome_files(folder, "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")
    runner = CliRunner()
    payload = json.loads(runner.invoke(app, ["route", "evaluate", "--dataset", str(folder), "--json"]).stdout)
    routers = payload["routers"]
    assert set(routers) == {"router", "oracle", "keyword_heuristic_v1", "random", "always_cheap", "always_strong"}
    assert routers["router"]["apgr"] > 0.55  # subject carries the signal here
    assert routers["router"]["apgr_low"] < routers["router"]["apgr"] < routers["router"]["apgr_high"]
    assert {"cpt_50", "cpt_80", "auc", "brier", "handoff_accuracy"} <= set(routers["router"])
    assert routers["always_cheap"]["handoff_accuracy"] == pytest.approx(routers["always_cheap"]["quality"])
    assert "published" not in payload
    shown = runner.invoke(app, ["route", "evaluate", "--dataset", str(folder)])
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert routers["oracle"]["label"] == "oracle (observed outcomes)"
    for word in ("oracle", "keyword", "random", "always", "handoff", "threshold"):  # the console wraps cells
        assert word in text
    assert f"threshold {payload['threshold']:.3f}" in text  # the table shows the JSON's evaluation
    grouped = runner.invoke(app, ["route", "evaluate", "--dataset", str(folder), "--split", "group", "--json"])
    assert grouped.exit_code == 0 and json.loads(grouped.stdout)["split"] == "group"
    assert list(evaluations) == [(folder, 42, None), (folder, 42, "group")]


def test_response_columns_are_ignored(tmp_path):
    from ml.routing.data import from_routing_csvs

    file = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {"prompt": ["a", "b"], "weak": [True, False], "weak_response": ["A. yes", "B. no"], "strong": ["true", "false"]}
    ).to_csv(file, index=False)
    data = from_routing_csvs(file)
    assert (data.cheap_model, data.strong_model) == ("weak", "strong")
    assert data.frame["strong_success"].tolist() == [1.0, 0.0] and "weak_response" not in data.frame
