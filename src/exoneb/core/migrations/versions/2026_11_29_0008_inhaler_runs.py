"""Inhaler runs (pMDI, DPI): the inhaler plan of a run and each actuation's checklist.

Adds ``inhalation_run.inhaler`` (JSON: inhaler type, actuations planned, emitted
dose per actuation and its unit, planned breath-hold; NULL for a nebulization)
and ``inhalation_run_event.detail`` (JSON: the technique checklist of an
actuation; NULL for other events). Both nullable, so existing runs stay valid.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 08:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("inhalation_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inhaler", sa.JSON(), nullable=True))
    with op.batch_alter_table("inhalation_run_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("inhalation_run_event", schema=None) as batch_op:
        batch_op.drop_column("detail")
    with op.batch_alter_table("inhalation_run", schema=None) as batch_op:
        batch_op.drop_column("inhaler")
