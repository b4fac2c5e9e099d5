"""`aioa route predict` with AIOA_API_TOKEN asks a running `aioa serve` (uvicorn in a subprocess on a free loopback
port) instead of loading the models: the CLI's JSON equals the in-process greedy decision, the CLI process imports no
scikit-learn, the dry run logs no decision, and a refused key or an API that is down is a clear exit 2. Without a
token, a new process scores a task exactly as `route()` does in this one (same home, same features)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from aioa.identity import api_keys
from aioa.settings import Settings
from tests.api.conftest import ORG
from tests.api.test_route_api import TASKS, routed  # noqa: F401 - the fixture: a home with a trained champion
from tests.api.test_serve import aioa_serve
from tests.cli_probe import run_cli
from tests.servers import free_port

AIOA = str(Path(sys.executable).with_name("aioa"))


def _task_args(task: dict) -> tuple[str, ...]:
    """The command-line form of a task: every feature the router reads (text, type, project, input tokens)."""
    options = {"--task-type": "task_type", "--project": "project_id", "--input-tokens": "input_tokens"}
    return (task["task_text"],) + tuple(
        item for option, key in options.items() if key in task for item in (option, str(task[key]))
    )


def _predict(environment: dict, *args: str) -> tuple[dict, str, str]:
    probed = run_cli(("route", "predict", *args), environment, ("sklearn",), timeout=120)
    return {"code": probed.code, "sklearn": "sklearn" in probed.imported}, probed.stdout, probed.stderr


@pytest.fixture(scope="module")
def served(routed):  # noqa: F811 - the imported fixture
    home = routed.home
    environment = os.environ | {"AIOA_HOME": str(home), "AIOA_AUTH": "on", "AIOA_ROUTING_EXPLORATION_RATE": "0"}
    environment.pop("AIOA_DATABASE_URL", None)
    with aioa_serve(environment) as base:
        yield environment | {"AIOA_API_URL": base}


def _same(remote: dict, local: dict) -> None:
    for field in ("target", "route", "confidence", "p_strong", "routing_score", "expected_cost_usd"):
        if isinstance(local[field], float):
            assert remote[field] == pytest.approx(local[field], rel=1e-9), field
        else:
            assert remote[field] == local[field], field
    assert [row["model"] for row in remote["predictions"]] == [row["model"] for row in local["predictions"]]


def test_predict_asks_the_running_api(served, routed):  # noqa: F811
    from ml.routing.decisions import read_decisions

    settings = Settings(home=routed.home)
    _info, key = api_keys.create_key(settings, org_id=ORG, scopes=["route"], name="cli-predict")
    logged_before = len(read_decisions(settings))
    for task in TASKS[:2]:  # the second one with a project and its input tokens
        args = (*_task_args(task), "--json")
        probe, out, err = _predict(served | {"AIOA_API_TOKEN": key}, *args)
        assert probe["code"] == 0, err
        assert probe["sklearn"] is False  # the models stay in the server
        in_process, local_out, local_err = _predict(served, *args)  # the same command without the token
        assert in_process["code"] == 0 and in_process["sklearn"] is True, local_err
        _same(json.loads(out), json.loads(local_out))
    probe, out, err = _predict(served | {"AIOA_API_TOKEN": key}, TASKS[0]["task_text"])
    assert probe["code"] == 0, err
    assert "→" in out and "P(success)" in out  # the same table as in process
    assert len(read_decisions(settings)) == logged_before  # a prediction is not a decision: nothing logged


def test_unknown_task_type_refused_key_and_api_down_exit_2(served, routed):  # noqa: F811
    settings = Settings(home=routed.home)
    _info, route_key = api_keys.create_key(settings, org_id=ORG, scopes=["route"], name="cli-predict-2")
    _info, read_key = api_keys.create_key(settings, org_id=ORG, scopes=["read"], name="cli-predict-read")
    probe, _, err = _predict(served | {"AIOA_API_TOKEN": route_key}, "x", "--task-type", "no-such-kind")
    assert probe["code"] == 2 and "Unknown task type 'no-such-kind'" in err
    probe, _, err = _predict(served | {"AIOA_API_TOKEN": read_key}, "rename a variable")
    assert probe["code"] == 2 and "route scope" in err
    down = served | {"AIOA_API_TOKEN": route_key, "AIOA_API_URL": f"http://127.0.0.1:{free_port()}"}
    probe, _, err = _predict(down, "rename a variable")
    assert probe["code"] == 2 and "aioa serve" in err and probe["sklearn"] is False


def test_a_new_process_scores_a_task_exactly_as_route_does_here(routed):  # noqa: F811
    """Same home, same task: the fresh process's scores are bit for bit this process's (the JSON floats round-trip).
    A task's project and input tokens are features: the second task scored without them is another task (0.15 vs
    0.84 P(cheap succeeds) on the sample), which is why the command takes --project and --input-tokens."""
    from ml.routing.predict import route

    environment = os.environ | {"AIOA_HOME": str(routed.home)}
    for name in ("AIOA_API_TOKEN", "AIOA_DATABASE_URL"):  # in process, not as a client; as `routed` serves
        environment.pop(name, None)
    for task in TASKS[:3]:
        probe, out, err = _predict(environment, *_task_args(task), "--json")
        assert probe["code"] == 0, err
        answer, here = json.loads(out), route(task, routed.settings)
        for field in ("confidence", "p_strong", "routing_score", "expected_cost_usd", "expected_latency_ms"):
            assert answer[field] == getattr(here, field), (task["task_text"], field)
        assert (answer["target"], answer["router_version"]) == (here.target, here.router_version)
    with_context, text_only = route(TASKS[1], routed.settings), route(_without(TASKS[1]), routed.settings)
    assert abs(with_context.confidence - text_only.confidence) > 0.3  # the features matter: not one constant


def _without(task: dict) -> dict:
    return {key: task[key] for key in ("task_text", "task_type")}
