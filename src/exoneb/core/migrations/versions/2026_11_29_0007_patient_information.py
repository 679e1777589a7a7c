"""Patient information leaflet versions recorded with consent.

Adds the language, version and SHA-256 of the leaflet the patient received to
``consent`` (all three or none; consents recorded before this stay without).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration must not change when the model does.
LEAFLET_ALL_OR_NONE = (
    "(leaflet_language IS NULL AND leaflet_version IS NULL AND leaflet_sha256 IS NULL) OR "
    "(leaflet_language IS NOT NULL AND leaflet_version IS NOT NULL "
    "AND leaflet_sha256 IS NOT NULL)"
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaflet_language", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("leaflet_version", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("leaflet_sha256", sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_consent_leaflet_all_or_none"), LEAFLET_ALL_OR_NONE
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_consent_leaflet_all_or_none"), type_="check")
        batch_op.drop_column("leaflet_sha256")
        batch_op.drop_column("leaflet_version")
        batch_op.drop_column("leaflet_language")
