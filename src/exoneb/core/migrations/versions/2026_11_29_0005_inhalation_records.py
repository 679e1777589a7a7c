"""Nebulizer device register, inhalation runs and dose estimates (step 3).

Placeholder reserved in the revision chain so the step packages can be built in
parallel; the package that owns these tables fills in upgrade/downgrade.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
