"""WeChat message dedupe and linking codes (issue-8).

Revision ID: 0008
Revises: 0007a
Create Date: 2026-11-24
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
