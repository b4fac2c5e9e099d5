"""Team collaboration: annotations (comments on days, metrics and incidents) and saved views shared by URL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.String(length=200), nullable=True),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("metric", sa.String(length=100), nullable=True),
        sa.Column("incident_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_annotations_org_id_day", "annotations", ["org_id", "day"], unique=False)
    op.create_index(op.f("ix_annotations_incident_id"), "annotations", ["incident_id"], unique=False)
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("page", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "team_id", "name", name="uq_saved_views_org_id_team_id_name"),
    )
    op.create_index(op.f("ix_saved_views_org_id"), "saved_views", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_saved_views_org_id"), table_name="saved_views")
    op.drop_table("saved_views")
    op.drop_index(op.f("ix_annotations_incident_id"), table_name="annotations")
    op.drop_index("ix_annotations_org_id_day", table_name="annotations")
    op.drop_table("annotations")
