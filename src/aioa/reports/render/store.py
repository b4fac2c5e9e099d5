"""Report templates saved per tenant and team (the report builder page, `aioa report render NAME`), in the identity
store beside rules and users. The org and team come from the principal that saves, never from the template."""

from __future__ import annotations

from sqlalchemy import select

from aioa.identity import clock
from aioa.identity.store import session_scope
from aioa.reports.render.models import ORG_WIDE, SavedReportTemplate
from aioa.reports.render.templates import BUILTIN, ReportTemplate
from aioa.settings import Settings


def save_template(
    settings: Settings, org_id: str, template: ReportTemplate, *, team_id: str | None = None, actor: str | None = None
) -> None:
    """Create or replace the team's (or the org's) template of that name; a built-in name cannot be taken."""
    if template.name in BUILTIN:
        raise ValueError(f"{template.name!r} is a built-in template: save yours under another name")
    team = team_id or ORG_WIDE
    with session_scope(settings) as session:
        row = session.scalars(
            select(SavedReportTemplate).where(
                SavedReportTemplate.org_id == org_id,
                SavedReportTemplate.team_id == team,
                SavedReportTemplate.name == template.name,
            )
        ).one_or_none()
        if row is None:
            row = SavedReportTemplate(org_id=org_id, team_id=team, name=template.name)
            session.add(row)
        row.document, row.updated_at, row.updated_by = template.model_dump(), clock.now(), actor


def saved_templates(settings: Settings, org_id: str, *, team_id: str | None = None) -> list[ReportTemplate]:
    """The org-wide templates and the team's own (a team's template hides an org-wide one of the same name)."""
    teams = [ORG_WIDE] + ([team_id] if team_id else [])
    with session_scope(settings, write=False) as session:
        rows = session.scalars(
            select(SavedReportTemplate)
            .where(SavedReportTemplate.org_id == org_id, SavedReportTemplate.team_id.in_(teams))
            .order_by(SavedReportTemplate.name, SavedReportTemplate.team_id)
        ).all()
    chosen = {row.name: row for row in rows}  # ordered by team: the team's own ("" sorts first) wins
    return [ReportTemplate.model_validate(row.document) for row in chosen.values()]


def find_template(settings: Settings, name: str, org_id: str | None, *, team_id: str | None = None) -> ReportTemplate:
    """A built-in template, or one saved for the org (and team); KeyError naming the choices otherwise."""
    if name in BUILTIN:
        return BUILTIN[name]
    saved = (
        {template.name: template for template in saved_templates(settings, org_id, team_id=team_id)} if org_id else {}
    )
    if name in saved:
        return saved[name]
    choices = [*BUILTIN, *saved]
    raise KeyError(f"no report template {name!r}: choose one of {', '.join(choices)}")


def delete_template(settings: Settings, org_id: str, name: str, *, team_id: str | None = None) -> bool:
    with session_scope(settings) as session:
        row = session.scalars(
            select(SavedReportTemplate).where(
                SavedReportTemplate.org_id == org_id,
                SavedReportTemplate.team_id == (team_id or ORG_WIDE),
                SavedReportTemplate.name == name,
            )
        ).one_or_none()
        if row is not None:
            session.delete(row)
        return row is not None
