"""The one permission table: what each role may do, and which rows of its org it may read.

Permissions are `resource:action` scopes. The API's dependency, the app's page guard and the CLI all call
`check()`; a route never takes an org it did not get from the principal (`scope_for`).
"""

from __future__ import annotations

from aioa.identity.principal import ROLES, Principal, Role
from aioa.warehouse.access import TenantScope


class Forbidden(PermissionError):
    """The principal may not do this (HTTP 403)."""


# resource:action -> roles that hold it
PERMISSIONS: dict[str, frozenset[Role]] = {
    "usage:read": frozenset({"admin", "user", "viewer"}),  # reports, KPIs, sessions, projects, models, MCP tools
    "ml:read": frozenset({"admin", "user", "viewer"}),  # forecasts, anomalies, routing evaluation
    "quarantine:read": frozenset({"admin"}),
    "ask:run": frozenset({"admin", "user"}),
    "route:run": frozenset({"admin", "user"}),
    "events:write": frozenset({"admin"}),  # POST /v1/handoffs, /v1/events (people); keys need the `ingest` scope
    "users:manage": frozenset({"admin"}),
    "keys:manage": frozenset({"admin"}),
    "settings:read": frozenset({"admin", "user", "viewer"}),  # branding, budgets shown on pages
    "settings:write": frozenset({"admin"}),
    "audit:read": frozenset({"admin"}),
    "billing:export": frozenset({"admin"}),
    "privacy:manage": frozenset({"admin"}),
    "kpis:write": frozenset({"admin", "user"}),  # user-defined KPIs: a User for their team, an Admin for any
    "rules:read": frozenset({"admin", "user", "viewer"}),  # rules, their backtests and incidents (Automations)
    "rules:write": frozenset({"admin"}),  # create, edit, enable and disable rules
    "incidents:act": frozenset({"admin", "user"}),  # acknowledge and resolve incidents
    "annotations:write": frozenset({"admin", "user"}),  # comments on days, metrics and incidents
    "views:write": frozenset({"admin", "user"}),  # saved views shared with the team
}

# API key scope -> permissions it grants (a key has no role of its own beyond its scopes)
KEY_SCOPES: dict[str, frozenset[str]] = {
    "read": frozenset({"usage:read", "ml:read", "settings:read"}),
    "ingest": frozenset({"events:write"}),
    "route": frozenset({"route:run"}),
    "admin": frozenset(PERMISSIONS),
}

# Which rows of its org a role reads: the whole org, or its team's rows plus its own.
ORG_WIDE_ROLES: frozenset[Role] = frozenset({"admin"})


def allowed(principal: Principal, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if principal.is_operator:
        return True
    if principal.kind == "api_key":
        granted = set().union(*(KEY_SCOPES.get(scope, frozenset()) for scope in principal.key_scopes or ()))
        return permission in granted
    return principal.role in PERMISSIONS[permission]


def check(principal: Principal, permission: str) -> None:
    if not allowed(principal, permission):
        raise Forbidden(f"{principal.role} {principal.kind} may not {permission}")


def scope_for(principal: Principal, requested_orgs: tuple[str, ...] | list[str] = ()) -> TenantScope:
    """The rows this principal may read. Asking for an org it does not belong to is Forbidden (403), never an
    empty or widened answer."""
    if principal.is_operator:
        return TenantScope.for_orgs(*requested_orgs) if requested_orgs else TenantScope.all_orgs()
    if principal.org_id is None:
        raise Forbidden("this principal belongs to no org")
    foreign = [org for org in requested_orgs if org != principal.org_id]
    if foreign:
        raise Forbidden(f"no access to org {foreign[0]!r}")
    scope = TenantScope.for_orgs(principal.org_id)
    if principal.kind == "api_key" or principal.role in ORG_WIDE_ROLES:
        return scope
    return scope.narrowed_to_rows(
        team_ids=(principal.team_id,) if principal.team_id else (),
        user_ids=principal.usage_user_ids if principal.role == "user" else (),
    )


def matrix() -> list[dict]:
    """The role × permission matrix (docs/security.md and the Admin page render it)."""
    return [{"permission": name, **{role: role in roles for role in ROLES}} for name, roles in PERMISSIONS.items()]
