"""Comparator products in step 2: drug and cell-product lots, doses in mg/µg/cells.

Adds to ``product_lot`` the label data of a medicinal product (dosage form,
strength per mL and its unit, emitted dose per actuation and actuations per
inhaler) and to ``dose_preparation`` the dose amount, its unit and the number
of actuations; ``dose_preparation.saline_lot_id`` becomes nullable (an inhaler
dose is not diluted). All new columns are nullable, so existing rows stay valid.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("product_lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dosage_form", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("strength_per_ml", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("strength_unit", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("emitted_dose_ug", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("actuations_per_unit", sa.Integer(), nullable=True))
    with op.batch_alter_table("dose_preparation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dose_amount", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("dose_unit", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("actuations", sa.Integer(), nullable=True))
        batch_op.alter_column("saline_lot_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Revert this revision (fails if an inhaler dose without a saline lot exists)."""
    with op.batch_alter_table("dose_preparation", schema=None) as batch_op:
        batch_op.alter_column("saline_lot_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("actuations")
        batch_op.drop_column("dose_unit")
        batch_op.drop_column("dose_amount")
    with op.batch_alter_table("product_lot", schema=None) as batch_op:
        batch_op.drop_column("actuations_per_unit")
        batch_op.drop_column("emitted_dose_ug")
        batch_op.drop_column("strength_unit")
        batch_op.drop_column("strength_per_ml")
        batch_op.drop_column("dosage_form")
