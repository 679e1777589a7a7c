"""Assessment records (step 1): assessment versions, spirometry, vitals, scales, decision.

No foreign key points at ``audit_event`` and nothing cascades.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:57:39.182565
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("amend_reason", sa.Text(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("care_answers", sa.JSON(), nullable=True),
        sa.Column("care_check", sa.JSON(), nullable=True),
        sa.Column("rule_set_id", sa.String(length=60), nullable=True),
        sa.Column("rule_set_version", sa.String(length=20), nullable=True),
        sa.Column("rule_set_origin", sa.String(length=20), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("computed_outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("override_outcome", sa.String(length=20), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by_id", sa.Integer(), nullable=True),
        sa.Column("override_by", sa.String(length=200), nullable=True),
        sa.Column("override_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("baseline_fev1_l", sa.Float(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_by", sa.String(length=200), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["override_by_id"],
            ["user_account.id"],
            name=op.f("fk_assessment_override_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_assessment_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_assessment_session_id_therapy_session"),
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signature.id"], name=op.f("fk_assessment_signature_id_signature")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["user_account.id"],
            name=op.f("fk_assessment_signed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_supersedes_id_assessment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
        sa.UniqueConstraint(
            "session_id", "record_version", name=op.f("uq_assessment_session_id_record_version")
        ),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessment_session_id"), ["session_id"], unique=False)

    op.create_table(
        "assessment_scales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("cat", sa.JSON(), nullable=True),
        sa.Column("cat_total", sa.Integer(), nullable=True),
        sa.Column("mmrc", sa.JSON(), nullable=True),
        sa.Column("mmrc_grade", sa.Integer(), nullable=True),
        sa.Column("walk", sa.JSON(), nullable=True),
        sa.Column("walk_distance_m", sa.Float(), nullable=True),
        sa.Column("walk_below_lln", sa.Boolean(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_scales_assessment_id_assessment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_scales")),
        sa.UniqueConstraint("assessment_id", name=op.f("uq_assessment_scales_assessment_id")),
    )
    op.create_table(
        "assessment_spirometry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("test_date", sa.String(length=10), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("manoeuvres", sa.JSON(), nullable=True),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.Column("equation", sa.String(length=20), nullable=False),
        sa.Column("table_version", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("interpretation", sa.JSON(), nullable=False),
        sa.Column("fev1_l", sa.Float(), nullable=True),
        sa.Column("fev1_z", sa.Float(), nullable=True),
        sa.Column("fvc_l", sa.Float(), nullable=True),
        sa.Column("fvc_z", sa.Float(), nullable=True),
        sa.Column("fev1_fvc", sa.Float(), nullable=True),
        sa.Column("fev1_fvc_z", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_spirometry_assessment_id_assessment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_spirometry")),
        sa.UniqueConstraint(
            "assessment_id", "kind", name=op.f("uq_assessment_spirometry_assessment_id_kind")
        ),
    )
    with op.batch_alter_table("assessment_spirometry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_spirometry_assessment_id"), ["assessment_id"], unique=False
        )

    op.create_table(
        "assessment_vitals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("spo2_percent", sa.Float(), nullable=True),
        sa.Column("oxygen_source", sa.String(length=20), nullable=True),
        sa.Column("oxygen_flow_l_min", sa.Float(), nullable=True),
        sa.Column("fio2", sa.Float(), nullable=True),
        sa.Column("heart_rate_bpm", sa.Float(), nullable=True),
        sa.Column("respiratory_rate_per_min", sa.Float(), nullable=True),
        sa.Column("systolic_bp_mmhg", sa.Float(), nullable=True),
        sa.Column("diastolic_bp_mmhg", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("bmi", sa.Float(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_vitals_assessment_id_assessment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_vitals")),
        sa.UniqueConstraint("assessment_id", name=op.f("uq_assessment_vitals_assessment_id")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("assessment_vitals")
    with op.batch_alter_table("assessment_spirometry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_spirometry_assessment_id"))

    op.drop_table("assessment_spirometry")
    op.drop_table("assessment_scales")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_session_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_patient_id"))

    op.drop_table("assessment")
