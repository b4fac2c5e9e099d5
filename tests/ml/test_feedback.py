"""Learning from production feedback: off-policy estimates (IPS, SNIPS, DR) recover a candidate router's true
value on simulated logs from the generator's truth, DR has the lower variance; production-mode routing explores at
the configured rate, logs propensities, and the log joins to the handoff outcomes; bad logs are refused."""

from __future__ import annotations

import os
import random
import shutil

import numpy as np
import pandas as pd
import pytest
from ml.routing.feedback import FeedbackDataError, doubly_robust, evaluate_policy, ips, offline_evaluation, snips

from aioa.settings import Settings


@pytest.fixture(scope="module")
def truth(sample_dir) -> pd.DataFrame:
    return pd.read_csv(sample_dir / "labels" / "routing_truth.csv")


def _simulate(truth: pd.DataFrame, rng: np.random.Generator, observed: np.ndarray, exploration: float = 0.2):
    """One day of logs: a threshold router on a noisy difficulty signal, exploring with the given rate."""
    greedy_strong = observed > 0.55
    p_strong = np.where(greedy_strong, 1 - exploration, exploration)
    action = (rng.random(len(truth)) < p_strong).astype(int)
    propensity = np.where(action == 1, p_strong, 1 - p_strong)
    p_success = np.where(action == 1, truth["p_success_strong"], truth["p_success_cheap"])
    return action, propensity, (rng.random(len(truth)) < p_success).astype(float)


def test_estimates_cover_the_candidates_true_value_and_dr_has_lower_variance(truth):
    rng = np.random.default_rng(11)
    observed = np.clip(truth["difficulty"].to_numpy() + rng.normal(0, 0.15, len(truth)), 0, 1)
    candidate_strong = (observed > 0.4).astype(float)  # a candidate that sends more tasks to the strong model
    true_value = float(np.mean(np.where(candidate_strong == 1, truth["p_success_strong"], truth["p_success_cheap"])))
    results = {"ips": [], "snips": [], "dr": []}
    covered = {"ips": 0, "snips": 0, "dr": 0}
    repeats = 100
    for _ in range(repeats):
        action, propensity, reward = _simulate(truth, rng, observed)
        estimates = {
            "ips": ips(action, propensity, reward, candidate_strong),
            "snips": snips(action, propensity, reward, candidate_strong),
            "dr": doubly_robust(action, propensity, reward, candidate_strong, observed),
        }
        for name, estimate in estimates.items():
            results[name].append(estimate.value)
            covered[name] += estimate.covers(true_value)
    for name in results:
        assert abs(np.mean(results[name]) - true_value) < 0.01, name  # (nearly) unbiased
        assert covered[name] / repeats >= 0.88, (name, covered[name])  # nominal 95% intervals
    assert np.var(results["dr"]) < 0.8 * np.var(results["ips"])
    # the logging policy's own success differs from the candidate's: the estimate is not just the logged mean
    action, propensity, reward = _simulate(truth, rng, observed)
    both = evaluate_policy(action, propensity, reward, candidate_strong, observed)
    assert both["dr"].value - both["logging_policy"].value > 0.02


def test_missing_or_zero_propensities_and_thin_logs_are_refused():
    action, reward = np.array([0, 1] * 50), np.ones(100)
    with pytest.raises(FeedbackDataError, match="no propensity"):
        ips(action, np.r_[np.full(99, 0.5), np.nan], reward, np.zeros(100))
    with pytest.raises(FeedbackDataError, match=r"outside \(0, 1\]"):
        snips(action, np.r_[np.full(99, 0.5), 0.0], reward, np.zeros(100))
    with pytest.raises(FeedbackDataError, match="too little logged feedback"):
        doubly_robust(action[:10], np.full(10, 0.5), reward[:10], np.zeros(10), np.zeros(10))


@pytest.fixture(scope="module")
def trained_home(built_home, truth, tmp_path_factory):
    """A copy of the built home with a champion router trained on its handoffs."""
    from ml.routing.data import from_handoffs
    from ml.routing.predict import reload
    from ml.routing.train import load_handoffs, train_router

    home = tmp_path_factory.mktemp("feedback") / "home"
    shutil.copytree(built_home, home)
    settings = Settings(home=home, routing_exploration_rate=0.05)
    outcome, _ = train_router(settings, from_handoffs(load_handoffs(settings)), truth)
    assert outcome.promoted
    reload()
    return settings


def test_route_and_route_batch_give_the_same_scores_and_routes(trained_home):
    """route() and route_batch() score through the same pipeline (`model.score`): the same numbers to float rounding,
    the same route for every task."""
    from ml.routing.predict import route, route_batch
    from ml.routing.train import load_handoffs

    tasks = load_handoffs(trained_home).head(300)[["task_text", "task_type", "project_id", "input_tokens"]]
    records = tasks.to_dict("records") + [{"task_text": "never seen words", "task_type": "new-kind"}, {}]
    batch = route_batch(records, trained_home)
    single = [route(record, trained_home) for record in records]
    assert np.allclose([decision.confidence for decision in single], batch["confidence"], rtol=0, atol=1e-12)
    assert np.allclose([decision.routing_score for decision in single], batch["routing_score"], rtol=0, atol=1e-12)
    assert [decision.route for decision in single] == batch["route"].tolist()


def test_loaded_is_true_only_while_route_would_load_nothing(trained_home):
    """`predict.loaded` (the API scores on its event loop only then): false before the first route(), true after
    it, false again once a new champion file is written (a promotion), until route() has loaded it."""
    from ml.routing.predict import loaded, local_champion_path, reload, route

    reload()
    assert not loaded(trained_home)
    first = route({"task_text": "please rename the variable"}, trained_home)
    assert loaded(trained_home)
    path = local_champion_path(trained_home)
    before = path.stat()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))  # the file a promotion writes anew
    assert not loaded(trained_home)
    again = route({"task_text": "please rename the variable"}, trained_home)
    assert loaded(trained_home) and again.confidence == first.confidence
    reload()
    assert not loaded(trained_home)


def test_score_builds_the_column_transformers_own_matrix(trained_home):
    """`model.score` applies the fitted branches of the router's ColumnTransformer itself (and encodes each distinct
    task type and project once): the matrix equals `ColumnTransformer.transform` entry for entry, in the same order,
    for a batch, single rows, unseen and missing values, and again once the one-hot rows are remembered; and the same
    from plain arrays (`task_columns`, what one route() call scores) as from the DataFrame."""
    from ml.routing.model import features_frame, task_columns, tasks_frame, transform_features
    from ml.routing.predict import champion
    from ml.routing.train import load_handoffs

    columns = champion(trained_home).model[0]
    batch = features_frame(load_handoffs(trained_home).head(400))
    odd = tasks_frame([{"task_text": "never seen words", "task_type": "new-kind", "project_id": "new"}, {}])
    frames = [batch, batch, odd, *(batch.iloc[[index]] for index in range(0, 400, 37))]
    for frame in frames:
        expected, actual = columns.transform(frame), transform_features(columns, frame)
        assert actual.format == expected.format == "csr" and actual.shape == expected.shape
        assert expected.shape[0] == len(frame) and expected.nnz > len(frame)
        from_arrays = transform_features(columns, task_columns(frame.to_dict("records")))
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(actual, part), getattr(expected, part)), part
            assert np.array_equal(getattr(from_arrays, part), getattr(expected, part)), part


def test_success_probability_is_the_calibrated_classifiers_own(trained_home):
    """`model.success_probability` (the fitted estimator's decision function through the fitted sigmoid, without
    `predict_proba`'s per-call bookkeeping) returns `predict_proba(X)[:, 1]` bit for bit, for both of the router's
    classifiers; any other configuration falls back to `predict_proba` itself."""
    from ml.routing.model import features_frame, success_probability, transform_features
    from ml.routing.predict import champion
    from ml.routing.train import load_handoffs
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    model = champion(trained_home).model
    features = transform_features(model[0], features_frame(load_handoffs(trained_home).head(300)))
    for classifier in (model[-1].cheap_, model[-1].strong_):
        assert np.array_equal(success_probability(classifier, features), classifier.predict_proba(features)[:, 1])
    labels = np.arange(300) % 3 == 0
    isotonic = CalibratedClassifierCV(LogisticRegression(), method="isotonic", cv=2).fit(features, labels)
    assert np.array_equal(success_probability(isotonic, features), isotonic.predict_proba(features)[:, 1])


def test_production_routing_explores_logs_propensities_and_joins_outcomes(trained_home, truth):
    from ml.routing.decisions import decisions_with_outcomes, read_decisions
    from ml.routing.feedback import load_feedback
    from ml.routing.predict import route
    from ml.routing.train import load_handoffs

    handoffs = load_handoffs(trained_home)
    handoffs = handoffs[handoffs["propensity"].notna()]
    rng = random.Random(0)
    decisions = [
        route(task, trained_home, explore=True, log=True, rng=rng)
        for task in handoffs[["task_id", "org_id", "task_text", "task_type", "project_id", "input_tokens"]].to_dict(
            "records"
        )
    ]
    explored = np.array([decision.explored for decision in decisions])
    assert abs(explored.mean() - 0.05) < 4 * np.sqrt(0.05 * 0.95 / len(decisions))
    assert {decision.propensity for decision in decisions} == {0.95, 0.05}
    assert all(decision.propensity == (0.05 if decision.explored else 0.95) for decision in decisions)

    logged = read_decisions(trained_home)
    assert len(logged) == len(decisions) and logged["decision_id"].is_unique
    assert logged["p_cheap"].to_numpy() == pytest.approx([decision.confidence for decision in decisions])
    joined = decisions_with_outcomes(trained_home, logged)
    verified = handoffs[handoffs["outcome_verified"].fillna(False)]
    targets = dict(zip(logged["task_id"], logged["target"], strict=True))
    expected = int((verified["target_model"] == verified["task_id"].map(targets)).sum())
    assert len(joined) == expected > 100  # only decisions whose handoff went to the decided model
    frame, source = load_feedback(trained_home, "deepseek-chat")
    assert source == "decisions log" and len(frame) == expected


def test_offline_evaluation_of_the_champion_covers_its_true_value(trained_home, truth):
    import ml.routing.decisions as decisions

    shutil.rmtree(decisions.decisions_dir(trained_home), ignore_errors=True)  # use the handoffs' own propensities
    result = offline_evaluation(trained_home)
    assert result["source"] == "handoffs with logged propensities"
    from ml.routing.decisions import logged_handoffs
    from ml.routing.predict import route_batch

    logged = logged_handoffs(trained_home).merge(truth, on="task_id")
    strong = route_batch(logged, trained_home)["route"].to_numpy() == "strong"
    true_value = float(np.mean(np.where(strong, logged["p_success_strong"], logged["p_success_cheap"])))
    success = result["success"]
    assert success["dr"]["low"] <= true_value <= success["dr"]["high"]
    assert success["ips"]["low"] <= true_value <= success["ips"]["high"]
    assert success["dr"]["std_error"] < success["ips"]["std_error"]
    assert result["decisions"] == len(logged)
