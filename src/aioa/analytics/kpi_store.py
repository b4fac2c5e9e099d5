"""Saving and listing user-defined KPIs per team. The org is the principal's (an operator names it); a User saves for
their own team, an Admin for any team of their org or the whole org (`team_id` ""); Viewers only read. Every save
and delete is written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from aioa.analytics.kpi_formula import parse_formula
from aioa.analytics.kpi_models import TeamKpi
from aioa.identity import audit, clock
from aioa.identity.permissions import Forbidden, check
from aioa.identity.principal import Principal
from aioa.identity.store import session_scope
from aioa.settings import Settings

Unit = Literal["usd", "ratio", "count", "number"]
UNITS: tuple[str, ...] = ("usd", "ratio", "count", "number")
ORG_WIDE = ""  # team_id of a KPI the whole org shares


@dataclass(frozen=True)
class SavedKpi:
    org_id: str
    team_id: str
    name: str
    formula: str
    unit: str
    description: str | None
    updated_by: str


def _org_of(principal: Principal, org_id: str | None) -> str:
    """The org a KPI belongs to: the principal's own; only an operator (no org) names one."""
    if principal.org_id is not None:
        if org_id not in (None, principal.org_id):
            raise Forbidden(f"no access to org {org_id!r}")
        return principal.org_id
    if principal.is_operator and org_id:
        return org_id
    raise Forbidden("this principal belongs to no org")


def _may_write_team(principal: Principal, team_id: str) -> None:
    check(principal, "kpis:write")
    if principal.is_operator or principal.role == "admin":
        return
    if not principal.team_id or team_id != principal.team_id:
        raise Forbidden("a User saves KPIs for their own team only")


def list_kpis(settings: Settings, principal: Principal, team_ids: tuple[str, ...], org_id: str | None = None):
    """The KPIs of these teams (and the org-wide ones) in the principal's org, by team then name."""
    org = _org_of(principal, org_id)
    with session_scope(settings, write=False) as session:
        rows = session.scalars(
            select(TeamKpi)
            .where(TeamKpi.org_id == org, TeamKpi.team_id.in_((ORG_WIDE, *team_ids)))
            .order_by(TeamKpi.team_id, TeamKpi.name)
        ).all()
        return [_saved(row) for row in rows]


def save_kpi(
    settings: Settings,
    principal: Principal,
    *,
    team_id: str,
    name: str,
    formula: str,
    unit: str = "number",
    description: str | None = None,
    org_id: str | None = None,
) -> SavedKpi:
    """Create or replace the team's KPI `name` (the formula is checked before anything is stored)."""
    org = _org_of(principal, org_id)
    _may_write_team(principal, team_id)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a KPI needs a name of 1 to 100 characters")
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
    parsed = parse_formula(formula)
    who = principal.email or principal.subject
    with session_scope(settings) as session:
        row = session.scalars(
            select(TeamKpi).where(TeamKpi.org_id == org, TeamKpi.team_id == team_id, TeamKpi.name == name)
        ).one_or_none()
        if row is None:
            row = TeamKpi(org_id=org, team_id=team_id, name=name)
            session.add(row)
        row.formula, row.unit, row.description = parsed.text, unit, description
        row.updated_by, row.updated_at = who, clock.now()
        saved = _saved(row)
    audit.record(
        settings,
        actor=principal,
        action="kpi.save",
        org_id=org,
        target=name,
        detail={"team_id": team_id, "formula": parsed.text, "unit": unit},
    )
    return saved


def delete_kpi(settings: Settings, principal: Principal, *, team_id: str, name: str, org_id: str | None = None) -> bool:
    org = _org_of(principal, org_id)
    _may_write_team(principal, team_id)
    with session_scope(settings) as session:
        row = session.scalars(
            select(TeamKpi).where(TeamKpi.org_id == org, TeamKpi.team_id == team_id, TeamKpi.name == name)
        ).one_or_none()
        if row is None:
            return False
        session.delete(row)
    audit.record(settings, actor=principal, action="kpi.delete", org_id=org, target=name, detail={"team_id": team_id})
    return True


def _saved(row: TeamKpi) -> SavedKpi:
    return SavedKpi(row.org_id, row.team_id, row.name, row.formula, row.unit, row.description, row.updated_by)
