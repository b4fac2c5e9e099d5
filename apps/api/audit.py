"""One audit entry per `/v1` request, as a plain ASGI middleware (no task or body buffering per request): who, which
route, org, query parameters (filters), status and rows returned (what the route noted with `deps.note`).

The entry is queued to the app's `AuditWriter` when the answer starts; the writer appends it off the request path.
If the audit log cannot take it (writer failing or full), the answer is withheld and replaced by a 500: no read
goes unrecorded."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aioa.identity.audit_writer import AuditUnavailable, AuditWriter

AUDITED_PREFIX = "/v1/"
log = logging.getLogger("aioa.api")
_WITHHELD = orjson.dumps({"detail": "the audit log could not record this request; its answer is withheld"})


class AuditRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(AUDITED_PREFIX):
            await self.app(scope, receive, send)
            return
        writer: AuditWriter = scope["app"].state.audit_writer
        answered = withheld = False

        async def audited_send(message: Message) -> None:
            nonlocal answered, withheld
            if message["type"] == "http.response.start":
                answered = True
                try:
                    writer.submit(**entry_fields(scope, message["status"]))
                except AuditUnavailable:
                    log.exception("audit entry for %s %s could not be queued", scope["method"], scope["path"])
                    withheld = True
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 500,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", b"%d" % len(_WITHHELD)),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": _WITHHELD})
                    return
            elif withheld:
                return  # the route's body: not sent
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if not answered:  # the error answer (500) is sent outside: record the attempt
                try:
                    writer.submit(**entry_fields(scope, 500))
                except AuditUnavailable:
                    log.exception("audit entry for a failed %s %s could not be queued", scope["method"], scope["path"])
            raise


def entry_fields(scope: Scope, status_code: int) -> dict:
    """The audit entry of this request: what the dependencies and the route left in the request state."""
    state = scope.get("state") or {}
    principal = state.get("principal")
    detail = dict(state.get("audit_detail") or {})
    tenant_scope = state.get("scope")
    org_id = detail.pop("org_id", None)
    if org_id is None and principal is not None:
        org_id = principal.org_id
    if (
        org_id is None
        and tenant_scope is not None
        and tenant_scope.org_ids is not None
        and len(tenant_scope.org_ids) == 1
    ):
        org_id = tenant_scope.org_ids[0]
    route = scope.get("route")
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        query.setdefault(name, []).append(value)
    return {
        "actor": principal if principal is not None else "anonymous",
        "action": f"api {scope['method']} {getattr(route, 'path', scope['path'])}",
        "org_id": org_id,
        "target": scope["path"],
        "detail": {"status": status_code, "query": query, **detail},
    }
