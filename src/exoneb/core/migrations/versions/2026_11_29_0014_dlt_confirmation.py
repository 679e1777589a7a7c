"""Dose escalation: DLTs confirmed by hand and the DLT observation window (reserved).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Reserved: filled in by the change that needs it."""


def downgrade() -> None:
    """Reserved: filled in by the change that needs it."""
