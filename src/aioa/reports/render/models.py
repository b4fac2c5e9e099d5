"""The saved report templates' table in the identity store (light: the Alembic environment imports it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aioa.identity.models import Base, UTCDateTime

ORG_WIDE = ""  # team_id of a template the whole org shares


class SavedReportTemplate(Base):
    __tablename__ = "report_templates"
    __table_args__ = (UniqueConstraint("org_id", "team_id", "name", name="uq_report_templates_org_team_name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    team_id: Mapped[str] = mapped_column(String(200))  # ORG_WIDE: every team of the org
    name: Mapped[str] = mapped_column(String(100))
    document: Mapped[dict] = mapped_column(JSON)  # a validated ReportTemplate
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(400))


REPORT_TABLES = {"report_templates"}
