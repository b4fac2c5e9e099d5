"""`POST /v1/route` with a trained champion: a User and a `route` key get exactly the decision `ml.routing.predict.route`
makes for the same task; each decision is logged under the caller's org (never one from the body) with the id the
answer returns; exploration is logged with its propensity; a Viewer and a `read` key get 403; an invalid task or an
`org_id` in the body is 422 naming the field, and nothing is logged for a refused request."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from aioa.settings import Settings
from tests.api.conftest import ORG, OTHER, copy_home, serving

TASKS = [
    {"task_text": "Please fix the typo in the retry helper.", "task_type": "documentation"},
    {
        "task_text": "Please find the race condition in the scheduler considering edge cases and performance "
        "considering edge cases and performance.",
        "task_type": "debugging",
        "project_id": "billing",
        "input_tokens": 4200,
    },
    {"task_text": "rename the variable in checkout", "task_type": "refactor", "task_id": "t-route-api-1"},
    # task types are an open vocabulary (the handoff contract's free text): one the router never saw is scored too
    {"task_text": "translate the release notes", "task_type": "a-kind-never-seen"},
]
DECISION_FIELDS = ("target", "route", "confidence", "p_strong", "expected_cost_usd", "expected_latency_ms")


@pytest.fixture(scope="module")
def routed(built_home, sample_dir, tmp_path_factory):
    """The API on a copy of the built home with a champion router trained on its handoffs (as tests/ml/test_feedback
    trains one), exploration off so that a decision is the greedy one."""
    from ml.routing.data import from_handoffs
    from ml.routing.predict import reload
    from ml.routing.train import load_handoffs, train_router

    home = copy_home(built_home, tmp_path_factory.mktemp("route") / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIOA_HOME", str(home))
        settings = Settings(home=home)
        truth = pd.read_csv(sample_dir / "labels" / "routing_truth.csv")
        outcome, _ = train_router(settings, from_handoffs(load_handoffs(settings)), truth)
        assert outcome.promoted, outcome.reason
        from ml.routing.performance import train_performance

        train_performance(settings)  # per-task cost and latency with intervals in the answers
    reload()
    with serving(home, {"AIOA_ROUTING_EXPLORATION_RATE": "0"}) as api:
        yield api
    reload()


def _logged(api) -> pd.DataFrame:
    from ml.routing.decisions import read_decisions

    return read_decisions(api.settings).set_index("decision_id")  # flushes the buffered log first


def test_a_user_and_a_route_key_get_the_routers_own_decision(routed):
    from ml.routing.predict import route

    assert routed.settings.routing_exploration_rate == 0
    routes = set()
    for task in TASKS:
        direct = route(task, routed.settings)
        for principal in ("user", "key_route", "admin", "key_admin"):
            answer = routed.client.post("/v1/route", json=task, headers=routed.headers[principal])
            assert answer.status_code == 200, (principal, answer.text)
            body = answer.json()
            assert {field: body[field] for field in DECISION_FIELDS} == {
                field: getattr(direct, field) for field in DECISION_FIELDS
            }, (principal, task)
            assert 0 <= body["confidence"] <= 1 and 0 <= body["p_strong"] <= 1
            assert body["expected_cost_usd"] > 0 and body["expected_latency_ms"] > 0
            assert body["propensity"] == 1.0 and body["explored"] is False
            assert body["router_version"] == direct.router_version == "1"
            assert len(body["decision_id"]) == 32
        routes.add(direct.route)
    assert routes == {"cheap", "strong"}  # the tasks reach both models: the equality is not one constant answer
    unseen, missing = route(TASKS[-1], routed.settings), route({"task_text": TASKS[-1]["task_text"]}, routed.settings)
    assert (unseen.confidence, unseen.p_strong) == (missing.confidence, missing.p_strong)  # as docs/api.md says


def test_the_answer_carries_per_task_estimates_for_every_model(routed):
    answers = [routed.client.post("/v1/route", json=task, headers=routed.headers["user"]).json() for task in TASKS[:2]]
    for answer in answers:
        assert answer["estimate_source"] == "per_task" and answer["task_type_known"] is True
        assert {row["model"] for row in answer["predictions"]} == {"deepseek-chat", "claude-sonnet-4-5-20250929"}
        target = next(row for row in answer["predictions"] if row["model"] == answer["target"])
        assert (
            answer["expected_cost_usd"] == target["cost_usd"] and answer["expected_latency_ms"] == target["latency_ms"]
        )
        assert answer["expected_cost_low_usd"] < answer["expected_cost_usd"] < answer["expected_cost_high_usd"]
        assert all(0 <= row["p_success"] <= 1 for row in answer["predictions"])
    first, second = ({row["model"]: row["cost_usd"] for row in answer["predictions"]} for answer in answers)
    assert first != second  # estimates of the task, not of the route
    unseen = routed.client.post("/v1/route", json=TASKS[-1], headers=routed.headers["user"]).json()
    assert unseen["task_type_known"] is False and unseen["predictions"]  # open vocabulary: scored, and said so


def test_each_decision_is_logged_under_the_callers_org(routed):
    task = {"task_text": "add a docstring to the parser", "task_type": "documentation", "task_id": "t-logged"}
    answers = {}
    for principal in ("user", "key_route", "other_admin"):
        response = routed.client.post("/v1/route", json=task, headers=routed.headers[principal])
        assert response.status_code == 200, response.text
        answers[principal] = response.json()
    logged = _logged(routed)
    for principal, org in (("user", ORG), ("key_route", ORG), ("other_admin", OTHER)):
        answer = answers[principal]
        row = logged.loc[answer["decision_id"]]
        assert row["org_id"] == org, principal
        assert row["task_id"] == "t-logged" and row["target"] == answer["target"] and row["route"] == answer["route"]
        assert row["p_cheap"] == answer["confidence"] and row["propensity"] == answer["propensity"] == 1.0
        assert row["router_version"] == answer["router_version"] and not row["explored"]
    assert len({answer["decision_id"] for answer in answers.values()}) == 3


def test_a_viewer_and_a_read_key_may_not_route(routed):
    before = len(_logged(routed))
    for principal in ("viewer", "key_read", "key_ingest"):
        answer = routed.client.post("/v1/route", json=TASKS[0], headers=routed.headers[principal])
        assert answer.status_code == 403, (principal, answer.text)
        assert "route:run" in answer.json()["detail"]
    assert routed.client.post("/v1/route", json=TASKS[0]).status_code == 401
    assert len(_logged(routed)) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "task_text"),
        ({"task_text": ""}, "task_text"),
        ({"task_text": "x" * 100_001}, "task_text"),
        ({"task_text": 42}, "task_text"),
        ({"task_text": "fix it", "task_type": ""}, "task_type"),
        ({"task_text": "fix it", "task_type": "t" * 201}, "task_type"),
        ({"task_text": "fix it", "task_type": ["debugging"]}, "task_type"),
        ({"task_text": "fix it", "project_id": ""}, "project_id"),
        ({"task_text": "fix it", "input_tokens": -1}, "input_tokens"),
        ({"task_text": "fix it", "input_tokens": "many"}, "input_tokens"),
        ({"task_text": "fix it", "task_id": ""}, "task_id"),
        ({"task_text": "fix it", "org_id": OTHER}, "org_id"),
        ({"task_text": "fix it", "org_id": ORG}, "org_id"),
        ({"task_text": "fix it", "org": OTHER}, "org"),
    ],
)
def test_an_invalid_task_is_422_naming_the_field_and_nothing_is_logged(routed, body, field):
    before = len(_logged(routed))
    answer = routed.client.post("/v1/route", json=body, headers=routed.headers["user"])
    assert answer.status_code == 422, answer.text
    assert [error["loc"] for error in answer.json()["detail"]] == [["body", field]]
    assert len(_logged(routed)) == before


def test_the_org_cannot_be_chosen_by_the_caller(routed):
    """Not through the body (422 above) and not through `?org=` (403 for another org; one's own org changes nothing)."""
    task = {"task_text": "format the config loader", "task_id": "t-org-param"}
    assert (
        routed.client.post("/v1/route", params={"org": OTHER}, json=task, headers=routed.headers["user"]).status_code
        == 403
    )
    answer = routed.client.post("/v1/route", params={"org": ORG}, json=task, headers=routed.headers["key_route"])
    assert answer.status_code == 200
    logged = _logged(routed)
    assert logged.loc[answer.json()["decision_id"], "org_id"] == ORG
    assert set(logged.loc[logged["task_id"] == "t-org-param", "org_id"]) == {ORG}


def test_exploration_is_answered_and_logged_with_its_propensity(routed):
    """With AIOA_ROUTING_EXPLORATION_RATE=0.5 the answer takes the other model about half the time, says so, and the
    logged propensity is the answer's."""
    from apps.api.main import create_app
    from ml.routing.predict import route

    greedy = route(TASKS[0], routed.settings)
    other = {"cheap": "strong", "strong": "cheap"}
    settings = routed.settings.model_copy(update={"routing_exploration_rate": 0.5})
    with TestClient(create_app(settings)) as client:
        answers = [
            client.post("/v1/route", json=TASKS[0], headers=routed.headers["key_route"]).json() for _ in range(60)
        ]
    explored = [answer for answer in answers if answer["explored"]]
    assert 0 < len(explored) < len(answers)  # P(all alike) = 2 * 0.5**60
    for answer in answers:
        assert answer["propensity"] == 0.5
        assert answer["route"] == (other[greedy.route] if answer["explored"] else greedy.route)
        assert answer["confidence"] == greedy.confidence  # the scores do not depend on the route taken
    logged = _logged(routed).loc[[answer["decision_id"] for answer in answers]]
    assert logged["propensity"].tolist() == [0.5] * len(answers)
    assert logged["explored"].tolist() == [answer["explored"] for answer in answers]
    assert set(logged["org_id"]) == {ORG} and logged["greedy_route"].eq(greedy.route).all()
    assert not any(math.isnan(value) for value in logged["p_cheap"])
