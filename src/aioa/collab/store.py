"""Annotations and saved views per tenant. The org (and the team a view is shared with) come from the caller's
principal, never from a request; a reader sees the org-wide rows and those of its own team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import or_, select

from aioa.collab.models import Annotation, SavedView
from aioa.identity import audit, clock
from aioa.identity.principal import Principal
from aioa.identity.store import session_scope
from aioa.settings import Settings

TARGETS = ("day", "metric", "incident")
MAX_BODY = 4000


@dataclass(frozen=True)
class Note:
    id: int
    target: str
    day: date | None
    metric: str | None
    incident_id: str | None
    body: str
    author: str
    team_id: str | None
    created_at: str

    def to_dict(self) -> dict:
        return dict(self.__dict__) | {"day": self.day.isoformat() if self.day else None}


def _org(principal: Principal, org_id: str | None) -> str:
    """The principal's own org; only the local operator (every org) names one."""
    if principal.is_operator:
        if not org_id:
            raise ValueError("the operator must name the org (e.g. --org acme)")
        return org_id
    if principal.org_id is None:
        raise PermissionError("this principal belongs to no org")
    return principal.org_id


def add_annotation(
    settings: Settings,
    principal: Principal,
    *,
    body: str,
    day: date | None = None,
    metric: str | None = None,
    incident_id: str | None = None,
    team_only: bool = False,
    org_id: str | None = None,
) -> Note:
    """A comment on a day, a metric (optionally on a day) or an incident of the principal's org."""
    from aioa.identity.permissions import check
    from aioa.metrics import METRICS

    check(principal, "annotations:write")
    org = _org(principal, org_id)
    body = body.strip()
    if not body:
        raise ValueError("an annotation needs some text")
    if len(body) > MAX_BODY:
        raise ValueError(f"an annotation is at most {MAX_BODY} characters")
    if metric is not None and metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    if incident_id is not None:
        _check_incident(settings, org, incident_id)
    target = "incident" if incident_id else "metric" if metric else "day"
    if target == "day" and day is None:
        raise ValueError("say what the annotation is about: a day, a metric or an incident")
    row = Annotation(
        org_id=org,
        team_id=principal.team_id if team_only else None,
        target=target,
        day=day,
        metric=metric,
        incident_id=incident_id,
        body=body,
        author=audit.actor_name(principal),
        created_at=clock.now(),
    )
    with session_scope(settings) as session:
        session.add(row)
        session.flush()
        note = _note(row)
    audit.record(settings, actor=principal, action="annotation.add", org_id=org, target=str(note.id), detail={})
    return note


def annotations(
    settings: Settings,
    principal: Principal,
    *,
    start: date | None = None,
    end: date | None = None,
    metric: str | None = None,
    incident_id: str | None = None,
    org_id: str | None = None,
) -> list[Note]:
    """The org's annotations the principal may see (org-wide ones and its team's), oldest first; by day window,
    metric (with the day-only notes) or incident."""
    org = _org(principal, org_id)
    query = select(Annotation).where(Annotation.org_id == org).order_by(Annotation.day, Annotation.id)
    if not principal.is_operator and principal.role != "admin":
        query = query.where(or_(Annotation.team_id.is_(None), Annotation.team_id == principal.team_id))
    if incident_id is not None:
        query = query.where(Annotation.incident_id == incident_id)
    else:
        query = query.where(Annotation.incident_id.is_(None))
        if start is not None:
            query = query.where(Annotation.day >= start)
        if end is not None:
            query = query.where(Annotation.day <= end)
        if metric is not None:
            query = query.where(or_(Annotation.metric.is_(None), Annotation.metric == metric))
    with session_scope(settings, write=False) as session:
        return [_note(row) for row in session.scalars(query)]


def _check_incident(settings: Settings, org: str, incident_id: str) -> None:
    from aioa.rules.models import Incident

    with session_scope(settings, write=False) as session:
        incident = session.get(Incident, incident_id)
    if incident is None or incident.org_id != org:
        raise LookupError(f"no incident {incident_id} in org {org}")


def _note(row: Annotation) -> Note:
    return Note(
        row.id,
        row.target,
        row.day,
        row.metric,
        row.incident_id,
        row.body,
        row.author,
        row.team_id,
        row.created_at.isoformat(),
    )


# --- saved views ----------------------------------------------------------------------------------------------------


def save_view(
    settings: Settings, principal: Principal, *, name: str, page: str, query: str, org_id: str | None = None
) -> dict:
    """Save (or replace) a named view for the principal's team (the whole org when it has none): the page and its
    query string, which already carries the filters."""
    from aioa.identity.permissions import check

    check(principal, "views:write")
    org = _org(principal, org_id)
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("a view needs a name of 1 to 200 characters")
    if not page.strip() or len(page) > 200:
        raise ValueError("a view names the app page it shows (its title)")
    query = urlencode(parse_qsl(query.lstrip("?"), keep_blank_values=False))  # normalised; nothing but key=value
    team = principal.team_id
    with session_scope(settings) as session:
        row = session.scalars(
            select(SavedView).where(
                SavedView.org_id == org,
                SavedView.name == name,
                SavedView.team_id.is_(None) if team is None else SavedView.team_id == team,
            )
        ).first()
        if row is None:
            row = SavedView(org_id=org, team_id=team, name=name, created_by="", created_at=clock.now())
            session.add(row)
        row.page, row.query = page, query
        row.created_by, row.created_at = audit.actor_name(principal), clock.now()
        session.flush()
        view = _view(row)
    audit.record(settings, actor=principal, action="view.save", org_id=org, target=name, detail={"page": page})
    return view


def views(settings: Settings, principal: Principal, *, org_id: str | None = None) -> list[dict]:
    """The views shared with the principal: its team's and the org-wide ones (an admin sees every team's)."""
    org = _org(principal, org_id)
    query = select(SavedView).where(SavedView.org_id == org).order_by(SavedView.name)
    if not principal.is_operator and principal.role != "admin":
        query = query.where(or_(SavedView.team_id.is_(None), SavedView.team_id == principal.team_id))
    with session_scope(settings, write=False) as session:
        return [_view(row) for row in session.scalars(query)]


def view_url(view: dict, url_path: str) -> str:
    """The view's relative link in the app: its page's URL path with the saved query string."""
    return f"/{url_path}" + (f"?{view['query']}" if view["query"] else "")


def _view(row: SavedView) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "team_id": row.team_id,
        "page": row.page,
        "query": row.query,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }
