"""Routing: `POST /v1/route` (a real-time decision, logged with its propensity for off-policy evaluation) and
`GET /v1/routing/evaluation` (the router's held-out evaluation, `ml.routing_evaluation`)."""

from __future__ import annotations

import gc
import math
import sys
from functools import partial
from typing import Annotated

from apps.api.deps import ReaderDep, ScopeDep, SettingsDep, note, require
from apps.api.schemas import Page, PageParams, page_of, records
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from aioa.analytics import queries
from aioa.identity.principal import Principal
from aioa.settings import Settings

router = APIRouter(prefix="/v1", tags=["routing"])


class RouteTask(BaseModel):
    """The task to place (the router reads only these features; the org is the caller's)."""

    model_config = ConfigDict(extra="forbid")

    task_text: str = Field(min_length=1, max_length=100_000, description="Text of the task (prompt).")
    task_type: str | None = Field(
        None, min_length=1, max_length=200, description="Kind of task (code_generation, refactor, …)."
    )
    project_id: str | None = Field(None, min_length=1, max_length=200, description="Project the task is for.")
    input_tokens: int | None = Field(None, ge=0, description="Expected input tokens.")
    task_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Your id of the task: its handoff outcome is joined to this decision.",
    )


class ModelPrediction(BaseModel):
    """The performance predictor's estimates for one model on this task (80% intervals)."""

    model: str
    p_success: float = Field(description="Calibrated probability that this model succeeds on the task.")
    cost_usd: float = Field(description="Expected cost of the task on this model.")
    cost_usd_low: float
    cost_usd_high: float
    latency_ms: float = Field(description="Expected latency of the task on this model.")
    latency_ms_low: float
    latency_ms_high: float


class RouteAnswer(BaseModel):
    decision_id: str | None = Field(description="Id of the logged decision.")
    target: str = Field(description="Model to send the task to.")
    route: str = Field(description="cheap or strong.")
    confidence: float | None = Field(description="Calibrated probability that the cheap model succeeds.")
    p_strong: float | None = Field(description="Calibrated probability that the strong model succeeds.")
    routing_score: float | None = Field(None, description="confidence − p_strong: cheap when ≥ the threshold.")
    expected_cost_usd: float | None
    expected_latency_ms: float | None
    propensity: float = Field(description="Probability with which this route was chosen (exploration).")
    explored: bool
    router_version: str
    estimate_source: str = Field(
        "route_mean", description="per_task (performance predictor) or route_mean (the route's held-out mean)."
    )
    expected_cost_low_usd: float | None = Field(None, description="80% interval of the target's cost (per_task).")
    expected_cost_high_usd: float | None = None
    expected_latency_low_ms: float | None = Field(None, description="80% interval of the target's latency.")
    expected_latency_high_ms: float | None = None
    predictions: list[ModelPrediction] = Field(default_factory=list, description="Every model's estimates.")
    task_type_known: bool | None = Field(None, description="The task type was seen in training (None: unknown).")


@router.post("/route", summary="Where to send a task: model, confidence, expected cost and latency")
async def route_task(
    task: RouteTask,
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal, require("route:run")],
    scope: ScopeDep,
    dry_run: Annotated[
        bool,
        Query(
            description="Score only (what `aioa route predict` asks): the greedy decision, no exploration, not logged."
        ),
    ] = False,
) -> RouteAnswer:
    """The decision is logged under the caller's org. 503 until a router is trained (`aioa route train`, `aioa run`)."""
    org_id = principal.org_id or (scope.org_ids[0] if scope.org_ids and len(scope.org_ids) == 1 else None)
    decide = partial(_decide, {**task.model_dump(exclude_none=True), "org_id": org_id}, settings, live=not dry_run)
    # Scoring is a few milliseconds of CPU-bound Python: a thread-pool hop adds wake-ups and GIL hand-offs, not
    # parallelism, so a router already in memory scores on the event loop (p99 at 1 client 15-18 ms instead of
    # 21-26 ms on 2 busy cores); a call that may import scikit-learn or load models from disk goes to a thread.
    if _loaded(settings):
        decision = decide()
    else:
        decision = await run_in_threadpool(decide)
        gc.freeze()  # the models just loaded stay in memory: keep them out of every later full collection
    note(request, rows=1, decision_id=decision.decision_id, target=decision.target, task_id=task.task_id)
    return RouteAnswer(
        decision_id=decision.decision_id,
        target=decision.target,
        route=decision.route,
        confidence=_finite(decision.confidence),
        p_strong=_finite(decision.p_strong),
        routing_score=_finite(decision.routing_score),
        expected_cost_usd=_finite(decision.expected_cost_usd),
        expected_latency_ms=_finite(decision.expected_latency_ms),
        propensity=decision.propensity,
        explored=decision.explored,
        router_version=decision.router_version,
        estimate_source=decision.estimate_source,
        expected_cost_low_usd=_finite(decision.expected_cost_low_usd),
        expected_cost_high_usd=_finite(decision.expected_cost_high_usd),
        expected_latency_low_ms=_finite(decision.expected_latency_low_ms),
        expected_latency_high_ms=_finite(decision.expected_latency_high_ms),
        predictions=[ModelPrediction(**row) for row in decision.predictions],
        task_type_known=decision.task_type_known,
    )


def _decide(task: dict, settings: Settings, *, live: bool = True):
    from ml.routing.predict import RouterUnavailable, route

    try:
        return route(task, settings, explore=live, log=live)
    except RouterUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no router is trained: {error}") from None


def _loaded(settings: Settings) -> bool:
    """The router and the performance predictor are in memory (`predict.loaded`); before the first route the
    module itself may not be imported yet (that alone takes a second), or only partly (another request imports it)."""
    loaded = getattr(sys.modules.get("ml.routing.predict"), "loaded", None)
    return loaded is not None and loaded(settings)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@router.get("/routing/evaluation", dependencies=[require("ml:read")], summary="The router's held-out evaluation")
def routing_evaluation(
    request: Request, scope: ScopeDep, reader: ReaderDep, page: Annotated[PageParams, Query()]
) -> Page:
    """Pooled over every org's handoffs, so only operators read its rows; an org's principal gets an empty page."""
    rows = records(queries.ml_table(reader, scope, "routing_evaluation"))
    result = page_of(rows, page)
    note(request, rows=len(result.items))
    return result
