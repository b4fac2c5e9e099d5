"""Collaboration tables in the identity store: annotations (a comment on a day, a metric or an incident) and saved
views (a name and the page's query string, shared with a team). Every row carries the org of whoever wrote it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aioa.identity.models import Base, UTCDateTime


class Annotation(Base):
    """A comment on a day (`day`), a metric (`metric`, optionally on a day) or an incident (`incident_id`)."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_org_id_day", "org_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(String(200))  # None: the whole org sees it
    target: Mapped[str] = mapped_column(String(16))  # day, metric, incident
    day: Mapped[date | None] = mapped_column(Date)
    metric: Mapped[str | None] = mapped_column(String(100))
    incident_id: Mapped[str | None] = mapped_column(String(32), index=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SavedView(Base):
    """A page with its filters (the query string the app already keeps in the URL), named and shared with a team."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("org_id", "team_id", "name", name="uq_saved_views_org_id_team_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    team_id: Mapped[str | None] = mapped_column(String(200))  # None: shared with the whole org
    name: Mapped[str] = mapped_column(String(200))
    page: Mapped[str] = mapped_column(String(200))  # the page's title in the app, e.g. Costs
    query: Mapped[str] = mapped_column(Text)  # the URL's query string without '?'
    created_by: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


COLLAB_TABLES = frozenset({"annotations", "saved_views"})
