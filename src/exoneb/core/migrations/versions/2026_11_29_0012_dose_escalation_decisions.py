"""Dose escalation: the coordinator's signed decisions per dose level.

RESERVED placeholder (no schema change yet): the helper who owns this revision
fills in upgrade/downgrade and this docstring.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Reserved: no change yet."""


def downgrade() -> None:
    """Reserved: no change yet."""
