"""Patient information leaflet versions recorded with consent.

Placeholder reserved in the revision chain so the step packages can be built in
parallel; the package that owns these tables fills in upgrade/downgrade.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
