"""Information items fan out in the background: audience, status, cursor (issue-7).

Items already sent before this revision were fanned out synchronously: they are marked
``queued`` with their recipients as audience and cursor.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("info_items") as batch:
        batch.add_column(sa.Column("audience", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="queued")
        )
        batch.add_column(sa.Column("cursor", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_info_items_status"), ["status"], unique=False)
    op.execute("UPDATE info_items SET audience = recipients, fanned_out_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("info_items") as batch:
        batch.drop_index(batch.f("ix_info_items_status"))
        batch.drop_column("fanned_out_at")
        batch.drop_column("cursor")
        batch.drop_column("status")
        batch.drop_column("audience")
