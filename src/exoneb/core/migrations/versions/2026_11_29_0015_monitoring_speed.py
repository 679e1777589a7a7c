"""Monitoring speed: where the alert rules stand per session (``monitoring_alert_state``).

One row per monitored session: the open run of each alert rule after the
latest reading, so a new reading is judged without re-reading the series.
A cache of ``monitoring_observation`` and ``monitoring_alert``: sessions
without a row get one at their next reading (the rules then run once over the
stored series), so nothing needs back-filling.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``monitoring_alert_state``."""
    op.create_table(
        "monitoring_alert_state",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=False),
        sa.Column("tracker", sa.JSON(), nullable=False),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_alert_state_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_monitoring_alert_state")),
    )


def downgrade() -> None:
    """Drop ``monitoring_alert_state`` (a cache: rebuilt from the stored rows if upgraded again)."""
    op.drop_table("monitoring_alert_state")
