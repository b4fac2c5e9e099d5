"""User-defined KPIs saved per team (deep analytics, issue 15 item 4).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_kpis",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("formula", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=400), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "team_id", "name", name="uq_team_kpis_org_id_team_id_name"),
    )
    op.create_index(op.f("ix_team_kpis_org_id"), "team_kpis", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_team_kpis_org_id"), table_name="team_kpis")
    op.drop_table("team_kpis")
