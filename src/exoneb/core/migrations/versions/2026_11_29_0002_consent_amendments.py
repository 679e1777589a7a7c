"""Consent amendments: a corrected consent supersedes the old row, which stays.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:59:56.376373
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supersedes_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("amended_by", sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consent_supersedes_id_consent"), "consent", ["supersedes_id"], ["id"]
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_consent_supersedes_id_consent"), type_="foreignkey")
        batch_op.drop_column("amended_by")
        batch_op.drop_column("supersedes_id")
