"""The saved "My dashboard" layouts: one row per person (their principal's subject), with the org it was saved in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from aioa.identity.models import Base, UTCDateTime


class DashboardLayout(Base):
    """A person's widgets in their order (validated by `aioa.dashboards.layouts.Layout`)."""

    __tablename__ = "dashboard_layouts"

    owner: Mapped[str] = mapped_column(String(400), primary_key=True)  # the principal's subject
    org_id: Mapped[str | None] = mapped_column(String(200), index=True)  # None: the local operator
    widgets: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


DASHBOARD_TABLES = frozenset({"dashboard_layouts"})
