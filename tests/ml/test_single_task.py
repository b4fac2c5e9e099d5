"""route()'s one-task scorer gives the fitted pipeline's own probabilities: on tasks with known, rare (grouped as
infrequent) and unknown categories, missing fields, code, maths and empty text, within 1e-12; a pipeline it does not
know is left to the pipeline (None)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml.routing.model import fit, score, tasks_frame
from ml.routing.single_task import SingleTaskScorer, scorer_for

WORDS = [
    "refactor",
    "retry",
    "loop",
    "tests",
    "parser",
    "sql",
    "index",
    "cache",
    "bug",
    "race",
    "deploy",
    "docs",
    "prove",
    "lemma",
    "sum",
    "integral",
]


def _tasks(count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    tasks = []
    for number in range(count):
        text = " ".join(rng.choice(WORDS, size=rng.integers(1, 12)))
        if number % 7 == 0:
            text += "\ndef f(x):\n    return x  # NOT this"
        if number % 5 == 0:
            text += f" what is {number} * 3? A) 1 B) 2"
        task = {"task_text": text, "input_tokens": float(rng.integers(0, 50_000))}
        task["task_type"] = "rare" if number % 97 == 0 else ["refactor", "bug_fix", "docs", "math"][number % 4]
        task["project_id"] = f"p{number % 3}"
        tasks.append(task)
    return tasks


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(_tasks(400, seed=2))
    hard = frame["task_text"].str.contains("lemma|integral|race")
    frame["cheap_success"] = (rng.random(len(frame)) < np.where(hard, 0.2, 0.85)).astype(float)
    frame["strong_success"] = np.where(rng.random(len(frame)) < 0.3, np.nan, (rng.random(len(frame)) < 0.9) * 1.0)
    return fit(frame)


def test_one_task_scores_equal_the_pipelines(model):
    scorer = scorer_for(model)
    assert scorer is not None
    tasks = _tasks(150, seed=3) + [
        {"task_text": "deploy docs", "task_type": "never-seen", "project_id": "nowhere"},
        {"task_text": "", "input_tokens": None},
        {"task_text": "prove the lemma", "task_type": "rare", "project_id": None, "input_tokens": float("nan")},
        {"task_text": "sum"},
    ]
    expected = score(model, tasks_frame(tasks))
    got = np.array([scorer.score(task) for task in tasks])
    np.testing.assert_allclose(got[:, 0], expected.p_cheap, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, 1], expected.p_strong, rtol=0, atol=1e-12)
    assert np.ptp(got[:, 0]) > 0.1  # the tasks are scored differently: the comparison is not of constants


def test_a_pipeline_of_another_shape_is_left_to_the_pipeline(model):
    from sklearn.pipeline import Pipeline

    assert scorer_for(Pipeline([("classifier", model[-1])])) is None
    with pytest.raises(ValueError):
        SingleTaskScorer(Pipeline([("classifier", model[-1])]))
