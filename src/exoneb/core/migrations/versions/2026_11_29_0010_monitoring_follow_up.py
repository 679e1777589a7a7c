"""Monitoring follow-up: HL7 messages by site, rescue medication, follow-up calls.

* ``monitoring_hl7_message.site_id`` (NOT NULL): the gateway user's site, so
  the HL7 inbox shows each site only its own messages. Rows received before
  this revision are given the site of their matched patient, else of the
  gateway account named in ``received_by``, else the only site when there is
  one; if a row still has no site the upgrade stops and says which (no site is
  guessed).
* ``monitoring_rescue_medication``: rescue medication given (drug, dose and
  unit, route, time, by whom), replacing the ``saba_given`` flag of an
  observation for the stopping rule's 30-minute clock (the column stays for
  the rows recorded before; new observations cannot set it).
* ``monitoring_follow_up_call`` and ``monitoring_follow_up_attempt``: the
  next-day telephone follow-up scheduled on discharge after a first session,
  and each call attempt.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill_hl7_sites() -> None:
    """Give every HL7 message received before this revision its site (or stop, saying why)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT m.id, p.site_id, m.received_by FROM monitoring_hl7_message m "
            "LEFT JOIN patient p ON p.id = m.patient_id"
        )
    ).all()
    if not rows:
        return
    by_name: dict[str, set[int]] = {}
    for username, full_name, site_id in bind.execute(
        sa.text("SELECT username, full_name, site_id FROM user_account")
    ):
        for name in (username, full_name):
            by_name.setdefault(name, set()).add(site_id)
    sites = [r[0] for r in bind.execute(sa.text("SELECT id FROM site"))]
    unresolved = []
    for message_id, patient_site, received_by in rows:
        site = patient_site
        if site is None and len(by_name.get(received_by, ())) == 1:
            site = next(iter(by_name[received_by]))
        if site is None and len(sites) == 1:
            site = sites[0]
        if site is None:
            unresolved.append(message_id)
            continue
        bind.execute(
            sa.text("UPDATE monitoring_hl7_message SET site_id = :s WHERE id = :i"),
            {"s": site, "i": message_id},
        )
    if unresolved:
        raise RuntimeError(
            "Cannot tell the site of HL7 messages "
            f"{unresolved[:20]} (no matched patient, no unique gateway account): "
            "set monitoring_hl7_message.site_id for them by hand, then upgrade again."
        )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("monitoring_hl7_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
    _backfill_hl7_sites()
    with op.batch_alter_table("monitoring_hl7_message", schema=None) as batch_op:
        batch_op.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_monitoring_hl7_message_site_id_site"), "site", ["site_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_monitoring_hl7_message_site_id"), ["site_id"], unique=False
        )

    op.create_table(
        "monitoring_rescue_medication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=40), nullable=False),
        sa.Column("drug_other", sa.String(length=200), nullable=True),
        sa.Column("drug_class", sa.String(length=10), nullable=False),
        sa.Column("dose_amount", sa.Float(), nullable=False),
        sa.Column("dose_unit", sa.String(length=10), nullable=False),
        sa.Column("route", sa.String(length=30), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_by", sa.String(length=200), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("adverse_event_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_event.id"],
            name=op.f("fk_monitoring_rescue_medication_adverse_event_id_adverse_event"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["monitoring_alert.id"],
            name=op.f("fk_monitoring_rescue_medication_alert_id_monitoring_alert"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_monitoring_rescue_medication_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_rescue_medication_recorded_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_rescue_medication_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rescue_medication")),
    )
    with op.batch_alter_table("monitoring_rescue_medication", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_rescue_medication_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitoring_rescue_medication_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "monitoring_follow_up_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("first_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("symptoms_reported", sa.Boolean(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_by", sa.String(length=200), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_follow_up_call_completed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_monitoring_follow_up_call_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_follow_up_call_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_follow_up_call")),
        sa.UniqueConstraint("session_id", name=op.f("uq_monitoring_follow_up_call_session_id")),
    )
    with op.batch_alter_table("monitoring_follow_up_call", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_follow_up_call_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "ix_monitoring_follow_up_call_status_due", ["status", "due_at"], unique=False
        )

    op.create_table(
        "monitoring_follow_up_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("symptoms_reported", sa.Boolean(), nullable=True),
        sa.Column("symptoms", sa.Text(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["monitoring_follow_up_call.id"],
            name=op.f("fk_monitoring_follow_up_attempt_call_id_monitoring_follow_up_call"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_monitoring_follow_up_attempt_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_follow_up_attempt_recorded_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_follow_up_attempt_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_follow_up_attempt")),
    )
    with op.batch_alter_table("monitoring_follow_up_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_follow_up_attempt_call_id"), ["call_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision (the rescue-medication records and follow-up calls are dropped)."""
    op.drop_table("monitoring_follow_up_attempt")
    op.drop_table("monitoring_follow_up_call")
    op.drop_table("monitoring_rescue_medication")
    with op.batch_alter_table("monitoring_hl7_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_hl7_message_site_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_monitoring_hl7_message_site_id_site"), type_="foreignkey"
        )
        batch_op.drop_column("site_id")
