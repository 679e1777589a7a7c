"""Follow-up calls: site time zone and the given-up outcome.

* ``site.time_zone`` (NOT NULL, IANA name): the next-day call is due the next
  calendar day at the protocol's local time *on the site's clocks*. Sites that
  exist before this revision get ``EXONEB_SITE_TIME_ZONE`` (default ``UTC``,
  the zone every time was shown in until now); an unknown name stops the
  upgrade and says so (no zone is guessed). Change a site's zone afterwards
  with ``exoneb user site-time-zone``.
* ``monitoring_follow_up_call.gave_up_reason``: why a call stopped without
  reaching the patient (the protocol's last attempt, or staff with a reason).
* ``monitoring_follow_up_review``: a physician's review of a given-up call —
  what was done instead (letter, GP informed, …), by whom, when.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from exoneb.core.zones import DEFAULT_TIME_ZONE, site_zone

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _default_zone() -> str:
    """The configured default zone (read from the environment, as the app reads it), checked."""
    name = os.environ.get("EXONEB_SITE_TIME_ZONE") or DEFAULT_TIME_ZONE
    try:
        site_zone(name)
    except ValueError as exc:
        raise RuntimeError(f"EXONEB_SITE_TIME_ZONE: {exc} Fix it, then upgrade again.") from exc
    return name


def upgrade() -> None:
    """Apply this revision."""
    zone = _default_zone()
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.get_bind().execute(
        sa.text("UPDATE site SET time_zone = :zone WHERE time_zone IS NULL"), {"zone": zone}
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.alter_column("time_zone", existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table("monitoring_follow_up_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gave_up_reason", sa.Text(), nullable=True))

    op.create_table(
        "monitoring_follow_up_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["monitoring_follow_up_call.id"],
            name=op.f("fk_monitoring_follow_up_review_call_id_monitoring_follow_up_call"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_monitoring_follow_up_review_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_follow_up_review_reviewed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_follow_up_review_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_follow_up_review")),
        sa.UniqueConstraint("call_id", name=op.f("uq_monitoring_follow_up_review_call_id")),
    )


def downgrade() -> None:
    """Revert this revision (reviews and give-up reasons are dropped; given-up and reviewed
    calls are put back as open, the only state the previous revision knows for a patient
    never reached)."""
    op.drop_table("monitoring_follow_up_review")
    op.execute(
        "UPDATE monitoring_follow_up_call SET status = 'open', completed_at = NULL, "
        "completed_by_id = NULL, completed_by = NULL WHERE status IN ('gave_up', 'reviewed')"
    )
    with op.batch_alter_table("monitoring_follow_up_call", schema=None) as batch_op:
        batch_op.drop_column("gave_up_reason")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
