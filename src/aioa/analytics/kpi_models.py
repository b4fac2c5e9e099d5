"""User-defined KPIs in the identity store: a named formula over registered metrics, saved for a team of an org
(or the whole org). The org is the saver's, never a value from the request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aioa.identity.models import Base, UTCDateTime


class TeamKpi(Base):
    __tablename__ = "team_kpis"
    __table_args__ = (UniqueConstraint("org_id", "team_id", "name", name="uq_team_kpis_org_id_team_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(200), index=True)
    team_id: Mapped[str] = mapped_column(String(200))  # "" : the whole org's KPI
    name: Mapped[str] = mapped_column(String(100))
    formula: Mapped[str] = mapped_column(Text)  # validated by aioa.analytics.kpi_formula.parse_formula
    unit: Mapped[str] = mapped_column(String(16))  # how the value reads: usd, ratio, count, number
    description: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(400))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


KPI_TABLES = frozenset({"team_kpis"})
