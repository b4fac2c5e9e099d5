"""Webhook secrets as text: sealed with AIOA_SECRET_KEYS they outgrow 200 characters.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=False)
        batch.alter_column(
            "previous_secret", type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("secret", type_=sa.String(length=200), existing_type=sa.Text(), existing_nullable=False)
        batch.alter_column(
            "previous_secret", type_=sa.String(length=200), existing_type=sa.Text(), existing_nullable=True
        )
