"""Dashboards people arrange: one saved widget layout per person.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_layouts",
        sa.Column("owner", sa.String(length=400), nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=True),
        sa.Column("widgets", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner"),
    )
    op.create_index(op.f("ix_dashboard_layouts_org_id"), "dashboard_layouts", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_layouts_org_id"), table_name="dashboard_layouts")
    op.drop_table("dashboard_layouts")
