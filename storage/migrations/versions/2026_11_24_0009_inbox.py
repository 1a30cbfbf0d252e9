"""The update inbox and hardening (issue-9).

No schema change: the ``inbox`` table came with 0002 and hardening needed no new column
(``alembic`` autogenerate finds nothing); this revision keeps the chain whole.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
