"""The generated handoff tasks can fail a router: thousands of distinct texts from a template grammar, a difficulty
the text shows only in part (the Bayes-optimal router from the text stays clearly below the oracle that knows the
hidden parts), template ids recorded per task, and the truth columns refused as training input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml.routing import metrics
from ml.routing.data import RoutingData, attach_templates, split_by_template
from ml.routing.model import assert_observable

from aioa.generate.handoffs import FAMILIES, TEMPLATE_IDS, TRUTH_COLUMNS, draw_task, success_probabilities


@pytest.fixture(scope="module")
def tasks():
    rng = np.random.default_rng(11)
    return [draw_task(rng) for _ in range(4000)]


def test_texts_come_from_a_grammar_with_thousands_of_distinct_texts(tasks):
    texts = {task.text for task in tasks}
    assert len(texts) > 3900  # the old generator had about 288
    assert len(TEMPLATE_IDS) == sum(len(items) for _, items in FAMILIES.values()) == 36
    assert {task.template_id for task in tasks} == set(TEMPLATE_IDS)
    assert all(task.template_id.split("/")[0] == task.task_type for task in tasks)
    # paraphrases: a template yields several wordings of its core
    cores = {task.text.split(" the ")[0] for task in tasks if task.template_id == "debugging/t4"}
    assert len(cores) >= 3


def test_difficulty_is_only_partly_visible_in_the_text(tasks):
    difficulty = np.array([task.difficulty for task in tasks])
    p_cheap, p_strong = success_probabilities(difficulty)
    text_cheap = np.array([task.text_p_cheap for task in tasks])
    text_strong = np.array([task.text_p_strong for task in tasks])
    # The text explains much of P(cheap succeeds), not all of it
    r2 = np.corrcoef(text_cheap, p_cheap)[0, 1] ** 2
    assert 0.5 < r2 < 0.9
    costs = np.ones(len(tasks)), np.full(len(tasks), 12.0)
    oracle = metrics.routing_curve(p_cheap - p_strong, p_cheap, p_strong, *costs)
    from_text = metrics.routing_curve(text_cheap - text_strong, p_cheap, p_strong, *costs)
    keyword = metrics.routing_curve(
        np.array([0.0 if "race condition" in task.text or "deadlock" in task.text else 1.0 for task in tasks]),
        p_cheap,
        p_strong,
        *costs,
    )
    assert metrics.apgr(keyword) < metrics.apgr(from_text) < metrics.apgr(oracle) - 0.02
    saved = metrics.cost_saved_at_quality(from_text) / metrics.cost_saved_at_quality(oracle)
    assert 0.6 < saved < 0.95  # even a perfect reader of the text cannot reach the oracle's savings
    # No single word gives the difficulty away: "race condition" is hard, but not every hard task says so
    hard = difficulty > np.quantile(difficulty, 0.75)
    said = np.array(["race condition" in task.text for task in tasks])
    assert said[hard].mean() < 0.2


def test_truth_records_templates_and_never_reaches_training_input(tasks):
    assert TRUTH_COLUMNS[:2] == ("task_id", "template_id")
    truth = pd.DataFrame(
        {
            "task_id": [f"task-{index}" for index in range(len(tasks))],
            "template_id": [task.template_id for task in tasks],
            "difficulty": [task.difficulty for task in tasks],
            "p_success_cheap": [task.text_p_cheap for task in tasks],
        }
    )
    frame = pd.DataFrame(
        {
            "task_id": truth["task_id"],
            "task_text": [task.text for task in tasks],
            "cheap_success": 1.0,
            "strong_success": 1.0,
        }
    )
    data = attach_templates(RoutingData(frame, "cheap", "strong"), truth)
    assert set(data.frame.columns) == {*frame.columns, "template_id"}  # only the template id is joined
    assert_observable(data.frame)
    train, test = split_by_template(data.frame)
    assert set(train["template_id"]).isdisjoint(test["template_id"])
    assert 0.2 < len(test) / len(frame) < 0.4
    with pytest.raises(AssertionError, match="unobservable"):
        assert_observable(data.frame.merge(truth[["task_id", "difficulty"]], on="task_id"))
