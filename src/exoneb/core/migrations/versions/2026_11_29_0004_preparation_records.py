"""Product lots, vials, inventory events and dose preparations (step 2).

Lots with their certificate of analysis, release decisions with one row per
criterion, vials whose volumes must balance (CHECK ``initial = remaining +
used + discarded``), inventory events, dose preparations and the vials they
were drawn from. No foreign key points at ``audit_event`` and nothing cascades.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "product_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("manufacturer", sa.String(length=200), nullable=False),
        sa.Column("lot_number", sa.String(length=80), nullable=False),
        sa.Column("certificate_id", sa.String(length=80), nullable=True),
        sa.Column("protocol_id", sa.String(length=60), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("storage_min_c", sa.Float(), nullable=True),
        sa.Column("storage_max_c", sa.Float(), nullable=True),
        sa.Column("vial_count", sa.Integer(), nullable=False),
        sa.Column("volume_per_vial_ml", sa.Float(), nullable=False),
        sa.Column("max_thaw_cycles", sa.Integer(), nullable=False),
        sa.Column("labelled_particles_per_ml", sa.Float(), nullable=True),
        sa.Column("certified_particles_per_ml", sa.Float(), nullable=True),
        sa.Column("concentration_method", sa.String(length=200), nullable=True),
        sa.Column("size_mode_nm", sa.Float(), nullable=True),
        sa.Column("size_window_low_nm", sa.Float(), nullable=True),
        sa.Column("size_window_high_nm", sa.Float(), nullable=True),
        sa.Column("size_within_window_percent", sa.Float(), nullable=True),
        sa.Column("protein_ug_per_ml", sa.Float(), nullable=True),
        sa.Column("particle_protein_ratio_per_ug", sa.Float(), nullable=True),
        sa.Column("markers", sa.JSON(), nullable=False),
        sa.Column("sterility", sa.String(length=20), nullable=True),
        sa.Column("endotoxin_eu_per_ml", sa.Float(), nullable=True),
        sa.Column("mycoplasma", sa.String(length=20), nullable=True),
        sa.Column("cell_tissue", sa.String(length=120), nullable=True),
        sa.Column("donor_code", sa.String(length=80), nullable=True),
        sa.Column("passage", sa.Integer(), nullable=True),
        sa.Column("cell_bank_id", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_product_lot_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_lot")),
        sa.UniqueConstraint(
            "kind",
            "manufacturer",
            "lot_number",
            name=op.f("uq_product_lot_kind_manufacturer_lot_number"),
        ),
    )
    op.create_index(op.f("ix_product_lot_site_id"), "product_lot", ["site_id"], unique=False)
    op.create_table(
        "product_vial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("initial_ul", sa.Integer(), nullable=False),
        sa.Column("remaining_ul", sa.Integer(), nullable=False),
        sa.Column("used_ul", sa.Integer(), nullable=False),
        sa.Column("discarded_ul", sa.Integer(), nullable=False),
        sa.Column("thaw_count", sa.Integer(), nullable=False),
        sa.Column("thawed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("thaw_method", sa.String(length=120), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "initial_ul = remaining_ul + used_ul + discarded_ul "
            "AND remaining_ul >= 0 AND used_ul >= 0 AND discarded_ul >= 0",
            name=op.f("ck_product_vial_balance"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["product_lot.id"], name=op.f("fk_product_vial_lot_id_product_lot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_vial")),
        sa.UniqueConstraint("code", name=op.f("uq_product_vial_code")),
        sa.UniqueConstraint("lot_id", "number", name=op.f("uq_product_vial_lot_id_number")),
    )
    op.create_index(op.f("ix_product_vial_lot_id"), "product_vial", ["lot_id"], unique=False)
    op.create_table(
        "lot_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("releasable", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("protocol_id", sa.String(length=60), nullable=False),
        sa.Column("protocol_version", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_lot_release_decided_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["product_lot.id"], name=op.f("fk_lot_release_lot_id_product_lot")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], ["signature.id"], name=op.f("fk_lot_release_signature_id_signature")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_release")),
    )
    op.create_index(op.f("ix_lot_release_lot_id"), "lot_release", ["lot_id"], unique=False)
    op.create_table(
        "dose_preparation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("saline_lot_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("protocol_id", sa.String(length=60), nullable=False),
        sa.Column("protocol_version", sa.String(length=20), nullable=False),
        sa.Column("arm_code", sa.String(length=40), nullable=False),
        sa.Column("nebulizer_key", sa.String(length=60), nullable=False),
        sa.Column("nebulizer_name", sa.String(length=200), nullable=False),
        sa.Column("min_fill_ml", sa.Float(), nullable=False),
        sa.Column("max_fill_ml", sa.Float(), nullable=False),
        sa.Column("residual_ml", sa.Float(), nullable=False),
        sa.Column("compensate_residual", sa.Boolean(), nullable=False),
        sa.Column("prescribed_particles", sa.Float(), nullable=False),
        sa.Column("target_particles", sa.Float(), nullable=False),
        sa.Column("certified_particles_per_ml", sa.Float(), nullable=False),
        sa.Column("stock_exact_ml", sa.Float(), nullable=False),
        sa.Column("stock_ml", sa.Float(), nullable=False),
        sa.Column("saline_ml", sa.Float(), nullable=False),
        sa.Column("fill_ml", sa.Float(), nullable=False),
        sa.Column("loaded_particles", sa.Float(), nullable=False),
        sa.Column("expected_emitted_particles", sa.Float(), nullable=False),
        sa.Column("deviation_fraction", sa.Float(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("appearance_ok", sa.Boolean(), nullable=False),
        sa.Column("appearance_note", sa.Text(), nullable=True),
        sa.Column("thaw_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label_code", sa.String(length=80), nullable=False),
        sa.Column("prepared_by_id", sa.Integer(), nullable=True),
        sa.Column("prepared_by", sa.String(length=200), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_by", sa.String(length=200), nullable=True),
        sa.Column("verification_signature_id", sa.Integer(), nullable=True),
        sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discarded_by", sa.String(length=200), nullable=True),
        sa.Column("discard_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["product_lot.id"], name=op.f("fk_dose_preparation_lot_id_product_lot")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_dose_preparation_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["prepared_by_id"],
            ["user_account.id"],
            name=op.f("fk_dose_preparation_prepared_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["saline_lot_id"],
            ["product_lot.id"],
            name=op.f("fk_dose_preparation_saline_lot_id_product_lot"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["therapy_session.id"],
            name=op.f("fk_dose_preparation_session_id_therapy_session"),
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signature.id"],
            name=op.f("fk_dose_preparation_signature_id_signature"),
        ),
        sa.ForeignKeyConstraint(
            ["verification_signature_id"],
            ["signature.id"],
            name=op.f("fk_dose_preparation_verification_signature_id_signature"),
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["user_account.id"],
            name=op.f("fk_dose_preparation_verified_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_preparation")),
        sa.UniqueConstraint("label_code", name=op.f("uq_dose_preparation_label_code")),
    )
    op.create_index(
        op.f("ix_dose_preparation_lot_id"), "dose_preparation", ["lot_id"], unique=False
    )
    op.create_index(
        op.f("ix_dose_preparation_patient_id"), "dose_preparation", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_dose_preparation_saline_lot_id"),
        "dose_preparation",
        ["saline_lot_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_dose_preparation_session_id"), "dose_preparation", ["session_id"], unique=False
    )
    op.create_table(
        "lot_release_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("measured", sa.Text(), nullable=False),
        sa.Column("limit_text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["lot_release.id"],
            name=op.f("fk_lot_release_result_release_id_lot_release"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_release_result")),
        sa.UniqueConstraint("release_id", "key", name=op.f("uq_lot_release_result_release_id_key")),
    )
    op.create_index(
        op.f("ix_lot_release_result_release_id"), "lot_release_result", ["release_id"], unique=False
    )
    op.create_table(
        "inventory_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("vial_id", sa.Integer(), nullable=True),
        sa.Column("preparation_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("volume_ul", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["user_account.id"],
            name=op.f("fk_inventory_event_actor_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["product_lot.id"], name=op.f("fk_inventory_event_lot_id_product_lot")
        ),
        sa.ForeignKeyConstraint(
            ["preparation_id"],
            ["dose_preparation.id"],
            name=op.f("fk_inventory_event_preparation_id_dose_preparation"),
        ),
        sa.ForeignKeyConstraint(
            ["vial_id"], ["product_vial.id"], name=op.f("fk_inventory_event_vial_id_product_vial")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_event")),
    )
    op.create_index(op.f("ix_inventory_event_lot_id"), "inventory_event", ["lot_id"], unique=False)
    op.create_index(
        op.f("ix_inventory_event_vial_id"), "inventory_event", ["vial_id"], unique=False
    )
    op.create_table(
        "preparation_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("preparation_id", sa.Integer(), nullable=False),
        sa.Column("vial_id", sa.Integer(), nullable=False),
        sa.Column("volume_ul", sa.Integer(), nullable=False),
        sa.Column("remainder_discarded_ul", sa.Integer(), nullable=False),
        sa.Column("thawed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["preparation_id"],
            ["dose_preparation.id"],
            name=op.f("fk_preparation_draw_preparation_id_dose_preparation"),
        ),
        sa.ForeignKeyConstraint(
            ["vial_id"], ["product_vial.id"], name=op.f("fk_preparation_draw_vial_id_product_vial")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preparation_draw")),
        sa.UniqueConstraint(
            "preparation_id", "vial_id", name=op.f("uq_preparation_draw_preparation_id_vial_id")
        ),
    )
    op.create_index(
        op.f("ix_preparation_draw_preparation_id"),
        "preparation_draw",
        ["preparation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_preparation_draw_vial_id"), "preparation_draw", ["vial_id"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_preparation_draw_vial_id"), table_name="preparation_draw")
    op.drop_index(op.f("ix_preparation_draw_preparation_id"), table_name="preparation_draw")
    op.drop_table("preparation_draw")
    op.drop_index(op.f("ix_inventory_event_vial_id"), table_name="inventory_event")
    op.drop_index(op.f("ix_inventory_event_lot_id"), table_name="inventory_event")
    op.drop_table("inventory_event")
    op.drop_index(op.f("ix_lot_release_result_release_id"), table_name="lot_release_result")
    op.drop_table("lot_release_result")
    op.drop_index(op.f("ix_dose_preparation_session_id"), table_name="dose_preparation")
    op.drop_index(op.f("ix_dose_preparation_saline_lot_id"), table_name="dose_preparation")
    op.drop_index(op.f("ix_dose_preparation_patient_id"), table_name="dose_preparation")
    op.drop_index(op.f("ix_dose_preparation_lot_id"), table_name="dose_preparation")
    op.drop_table("dose_preparation")
    op.drop_index(op.f("ix_lot_release_lot_id"), table_name="lot_release")
    op.drop_table("lot_release")
    op.drop_index(op.f("ix_product_vial_lot_id"), table_name="product_vial")
    op.drop_table("product_vial")
    op.drop_index(op.f("ix_product_lot_site_id"), table_name="product_lot")
    op.drop_table("product_lot")
