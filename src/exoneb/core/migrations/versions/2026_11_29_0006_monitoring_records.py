"""Observations, alerts, adverse events, course holds, discharge and the HL7 inbox (step 4).

No foreign key points at ``audit_event``, nor into the preparation or
inhalation tables; nothing cascades.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    """Apply this revision."""
    op.create_table(
        "course_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("protocol_id", sa.String(length=60), nullable=False),
        sa.Column("arm_code", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dlt_candidate", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_course_hold_enrolment_id_enrolment")
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"],
            ["user_account.id"],
            name=op.f("fk_course_hold_lifted_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_course_hold_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_course_hold_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_hold")),
    )
    with op.batch_alter_table("course_hold", schema=None) as batch_op:
        batch_op.create_index(
            "ix_course_hold_cohort", ["protocol_id", "arm_code", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_course_hold_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_course_hold_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "discharge_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("attestations", sa.JSON(), nullable=False),
        sa.Column("first_session", sa.Boolean(), nullable=False),
        sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("discharged_by_id", sa.Integer(), nullable=True),
        sa.Column("discharged_by", sa.String(length=200), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["discharged_by_id"],
            ["user_account.id"],
            name=op.f("fk_discharge_record_discharged_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_discharge_record_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_discharge_record_session_id_therapy_session"),
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signature.id"],
            name=op.f("fk_discharge_record_signature_id_signature"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discharge_record")),
        sa.UniqueConstraint("session_id", name=op.f("uq_discharge_record_session_id")),
    )
    with op.batch_alter_table("discharge_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discharge_record_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "monitoring_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("onset_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ongoing", sa.Boolean(), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("first_value", sa.Float(), nullable=False),
        sa.Column("worst_value", sa.Float(), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("comparison", sa.String(length=2), nullable=False),
        sa.Column("sustained_s", sa.Float(), nullable=False),
        sa.Column("required_s", sa.Float(), nullable=False),
        sa.Column("suggested_term", sa.String(length=40), nullable=True),
        sa.Column("action_text", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("protocol_id", sa.String(length=60), nullable=False),
        sa.Column("protocol_version", sa.String(length=20), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("acknowledge_note", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_alert_acknowledged_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_monitoring_alert_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_alert_resolved_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_alert_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alert")),
        sa.UniqueConstraint(
            "session_id",
            "rule_id",
            "onset_at",
            name=op.f("uq_monitoring_alert_session_id_rule_id_onset_at"),
        ),
    )
    with op.batch_alter_table("monitoring_alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_alert_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitoring_alert_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index("ix_monitoring_alert_status", ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_monitoring_alert_stored_at"), ["stored_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitoring_alert_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "monitoring_hl7_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("peer", sa.String(length=100), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("control_id", sa.String(length=200), nullable=False),
        sa.Column("sending_application", sa.String(length=200), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("parse_status", sa.String(length=20), nullable=False),
        sa.Column("match_status", sa.String(length=20), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("patient_identifiers", sa.JSON(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("observations_stored", sa.Integer(), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("ack_control_id", sa.String(length=40), nullable=False),
        sa.Column("ack_raw", sa.LargeBinary(), nullable=False),
        sa.Column("review_status", sa.String(length=20), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_monitoring_hl7_message_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_hl7_message_reviewed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_hl7_message_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_hl7_message")),
    )
    with op.batch_alter_table("monitoring_hl7_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monitoring_hl7_message_control", ["sending_application", "control_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitoring_hl7_message_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitoring_hl7_message_review_status"), ["review_status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitoring_hl7_message_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "adverse_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("ctcae_version", sa.String(length=10), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.Column("other_text", sa.String(length=200), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("onset_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nebulization_start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seriousness", sa.JSON(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("expected", sa.Boolean(), nullable=True),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("causality", sa.String(length=20), nullable=False),
        sa.Column("action_taken", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("report_days", sa.Integer(), nullable=True),
        sa.Column("report_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_basis", sa.Text(), nullable=True),
        sa.Column("expedited_report", sa.Boolean(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_by", sa.String(length=200), nullable=True),
        sa.Column("report_reference", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["monitoring_alert.id"],
            name=op.f("fk_adverse_event_alert_id_monitoring_alert"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_adverse_event_enrolment_id_enrolment")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_adverse_event_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["user_account.id"],
            name=op.f("fk_adverse_event_reported_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_adverse_event_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event")),
    )
    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_event_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_event_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_event_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "monitoring_observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("device_id", sa.String(length=100), nullable=True),
        sa.Column("hl7_message_id", sa.Integer(), nullable=True),
        sa.Column("spo2_pct", sa.Float(), nullable=True),
        sa.Column("heart_rate_per_min", sa.Float(), nullable=True),
        sa.Column("resp_rate_per_min", sa.Float(), nullable=True),
        sa.Column("sbp_mmhg", sa.Float(), nullable=True),
        sa.Column("dbp_mmhg", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("fev1_l", sa.Float(), nullable=True),
        sa.Column("pef_l_per_min", sa.Float(), nullable=True),
        sa.Column("respiratory_symptoms", sa.Boolean(), nullable=True),
        sa.Column("wheeze", sa.Boolean(), nullable=True),
        sa.Column("stridor", sa.Boolean(), nullable=True),
        sa.Column("symptom_grade", sa.Integer(), nullable=True),
        sa.Column("saba_given", sa.Boolean(), nullable=False),
        sa.Column("signal_ok", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["hl7_message_id"],
            ["monitoring_hl7_message.id"],
            name=op.f("fk_monitoring_observation_hl7_message_id_monitoring_hl7_message"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_monitoring_observation_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_monitoring_observation_recorded_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_monitoring_observation_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_observation")),
    )
    with op.batch_alter_table("monitoring_observation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_observation_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "ix_monitoring_observation_session_at", ["session_id", "observed_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    """Revert this revision."""
    with op.batch_alter_table("monitoring_observation", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_observation_session_at")
        batch_op.drop_index(batch_op.f("ix_monitoring_observation_patient_id"))

    op.drop_table("monitoring_observation")
    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_event_session_id"))
        batch_op.drop_index(batch_op.f("ix_adverse_event_patient_id"))
        batch_op.drop_index(batch_op.f("ix_adverse_event_enrolment_id"))

    op.drop_table("adverse_event")
    with op.batch_alter_table("monitoring_hl7_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_hl7_message_session_id"))
        batch_op.drop_index(batch_op.f("ix_monitoring_hl7_message_review_status"))
        batch_op.drop_index(batch_op.f("ix_monitoring_hl7_message_received_at"))
        batch_op.drop_index("ix_monitoring_hl7_message_control")

    op.drop_table("monitoring_hl7_message")
    with op.batch_alter_table("monitoring_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_alert_updated_at"))
        batch_op.drop_index(batch_op.f("ix_monitoring_alert_stored_at"))
        batch_op.drop_index("ix_monitoring_alert_status")
        batch_op.drop_index(batch_op.f("ix_monitoring_alert_session_id"))
        batch_op.drop_index(batch_op.f("ix_monitoring_alert_patient_id"))

    op.drop_table("monitoring_alert")
    with op.batch_alter_table("discharge_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discharge_record_patient_id"))

    op.drop_table("discharge_record")
    with op.batch_alter_table("course_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_hold_patient_id"))
        batch_op.drop_index(batch_op.f("ix_course_hold_enrolment_id"))
        batch_op.drop_index("ix_course_hold_cohort")

    op.drop_table("course_hold")
