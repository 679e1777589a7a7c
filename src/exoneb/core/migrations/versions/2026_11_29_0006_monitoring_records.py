"""Observations, alerts, adverse events, HL7 inbox and discharge (step 4).

Placeholder reserved in the revision chain so the step packages can be built in
parallel; the package that owns these tables fills in upgrade/downgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
