"""`aioa route predict` as a client of the running API: the models stay loaded in `aioa serve`, so a fresh CLI
process answers in the time of its own start-up plus one request instead of importing scikit-learn."""

from __future__ import annotations

from aioa.settings import Settings


class RemoteRouteError(Exception):
    """The API could not answer; the message says what to do."""


def predict_remote(settings: Settings, task: dict) -> dict:
    """The API's greedy decision for one task (`POST /v1/route?dry_run=true`: no exploration, nothing logged);
    `task` holds the fields of `RouteTask` that are set (task_text, task_type, project_id, input_tokens)."""
    import httpx

    url = settings.api_url.rstrip("/") + "/v1/route"
    task_type = task.get("task_type")
    headers = {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}
    try:
        answer = httpx.post(url, params={"dry_run": "true"}, json=task, headers=headers, timeout=30)
    except httpx.TransportError as error:
        raise RemoteRouteError(
            f"the API at {settings.api_url} did not answer ({type(error).__name__}): start it with `aioa serve`, "
            "or unset AIOA_API_TOKEN to route in this process"
        ) from None
    if answer.status_code in (401, 403):
        raise RemoteRouteError(
            f"the API refused AIOA_API_TOKEN ({answer.status_code}): use a key with the route scope "
            "(`aioa keys create --org ORG --scope route`)"
        )
    if answer.status_code != 200:
        raise RemoteRouteError(f"the API answered {answer.status_code}: {answer.text[:300]}")
    decision = answer.json()
    if task_type is not None and decision.get("task_type_known") is False:
        raise RemoteRouteError(
            f"Unknown task type {task_type!r}: the API's router was not trained on it (omit --task-type)."
        )
    return decision
