"""Nebulizer device register, inhalation runs, run events and dose estimates (step 3).

The run names its preparation by number only (``preparation_id``, no foreign
key): step 2's tables are read only through its service. No foreign key points
at ``audit_event`` and nothing cascades.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "inhalation_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("make", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("serial_or_lot", sa.String(length=100), nullable=False),
        sa.Column("interface", sa.String(length=40), nullable=False),
        sa.Column("validated_with_product", sa.Boolean(), nullable=False),
        sa.Column("catalog_id", sa.String(length=60), nullable=True),
        sa.Column("catalog_match", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("retire_reason", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_inhalation_device_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inhalation_device")),
        sa.UniqueConstraint(
            "site_id",
            "make",
            "model",
            "serial_or_lot",
            name=op.f("uq_inhalation_device_site_id_make_model_serial_or_lot"),
        ),
    )
    with op.batch_alter_table("inhalation_device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inhalation_device_site_id"), ["site_id"], unique=False)

    op.create_table(
        "inhalation_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("preparation_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("catalog_id", sa.String(length=60), nullable=False),
        sa.Column("interface", sa.String(length=40), nullable=False),
        sa.Column("regimen_id", sa.String(length=60), nullable=False),
        sa.Column("dose_unit", sa.String(length=20), nullable=False),
        sa.Column("loaded_dose", sa.Float(), nullable=False),
        sa.Column("fill_ml", sa.Float(), nullable=False),
        sa.Column("breathing", sa.JSON(), nullable=False),
        sa.Column("planned_duration_s", sa.Float(), nullable=True),
        sa.Column("device_warnings", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column("supervisor_name", sa.String(length=200), nullable=True),
        sa.Column("supervisor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.String(length=40), nullable=True),
        sa.Column("stop_note", sa.Text(), nullable=True),
        sa.Column("interruptions", sa.Integer(), nullable=False),
        sa.Column("interruption_s", sa.Float(), nullable=False),
        sa.Column("nebulization_s", sa.Float(), nullable=True),
        sa.Column("residual_ml", sa.Float(), nullable=True),
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
            ["device_id"],
            ["inhalation_device.id"],
            name=op.f("fk_inhalation_run_device_id_inhalation_device"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_inhalation_run_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_inhalation_run_session_id_therapy_session"),
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signature.id"],
            name=op.f("fk_inhalation_run_signature_id_signature"),
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["user_account.id"],
            name=op.f("fk_inhalation_run_signed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"],
            ["user_account.id"],
            name=op.f("fk_inhalation_run_supervisor_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inhalation_run")),
        sa.UniqueConstraint("session_id", name=op.f("uq_inhalation_run_session_id")),
    )
    with op.batch_alter_table("inhalation_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inhalation_run_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inhalation_run_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "inhalation_dose_estimate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("regimen_id", sa.String(length=60), nullable=False),
        sa.Column("dose_unit", sa.String(length=20), nullable=False),
        sa.Column("loaded_dose", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("fractions_of_loaded", sa.JSON(), nullable=False),
        sa.Column("fractions_of_inhaled", sa.JSON(), nullable=False),
        sa.Column("particles", sa.JSON(), nullable=True),
        sa.Column("by_generation", sa.JSON(), nullable=True),
        sa.Column("lung_particles", sa.Float(), nullable=True),
        sa.Column("alveolar_particles", sa.Float(), nullable=True),
        sa.Column("lung_intact_particles", sa.Float(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_inhalation_dose_estimate_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["inhalation_run.id"],
            name=op.f("fk_inhalation_dose_estimate_run_id_inhalation_run"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_inhalation_dose_estimate_session_id_therapy_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inhalation_dose_estimate")),
    )
    with op.batch_alter_table("inhalation_dose_estimate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inhalation_dose_estimate_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inhalation_dose_estimate_run_id"), ["run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inhalation_dose_estimate_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "inhalation_run_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("residual_ml", sa.Float(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_inhalation_run_event_actor_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["inhalation_run.id"],
            name=op.f("fk_inhalation_run_event_run_id_inhalation_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inhalation_run_event")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_inhalation_run_event_run_id_seq")),
    )
    with op.batch_alter_table("inhalation_run_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inhalation_run_event_run_id"), ["run_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("inhalation_run_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inhalation_run_event_run_id"))

    op.drop_table("inhalation_run_event")
    with op.batch_alter_table("inhalation_dose_estimate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inhalation_dose_estimate_session_id"))
        batch_op.drop_index(batch_op.f("ix_inhalation_dose_estimate_run_id"))
        batch_op.drop_index(batch_op.f("ix_inhalation_dose_estimate_patient_id"))

    op.drop_table("inhalation_dose_estimate")
    with op.batch_alter_table("inhalation_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inhalation_run_patient_id"))
        batch_op.drop_index(batch_op.f("ix_inhalation_run_device_id"))

    op.drop_table("inhalation_run")
    with op.batch_alter_table("inhalation_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inhalation_device_site_id"))

    op.drop_table("inhalation_device")
