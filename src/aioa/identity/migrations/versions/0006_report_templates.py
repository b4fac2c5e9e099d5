"""Report templates saved per org and team (the report builder).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=400), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "team_id", "name", name="uq_report_templates_org_team_name"),
    )
    op.create_index(op.f("ix_report_templates_org_id"), "report_templates", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_report_templates_org_id"), table_name="report_templates")
    op.drop_table("report_templates")
