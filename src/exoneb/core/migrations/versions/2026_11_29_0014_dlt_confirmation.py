"""Dose escalation: DLT candidates confirmed by hand (signed, append-only reviews).

Adds ``dlt_review``: one row per physician review of a DLT candidate (a
``course_hold`` the stopping rules marked ``dlt_candidate``), numbered per
candidate (unique ``course_hold_id, sequence``): confirmed as a dose-limiting
toxicity or not, with the reason, signed through ``signature``
(``record_type = "dlt_review"``). Triggers refuse UPDATE and DELETE, as on
``escalation_decision``: a review is corrected by a later review. (The DLT
observation window is a protocol field, ``escalation.dlt_window_days``: no
schema change.)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER dlt_review_no_update BEFORE UPDATE ON dlt_review
    BEGIN SELECT RAISE(ABORT, 'dlt_review is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER dlt_review_no_delete BEFORE DELETE ON dlt_review
    BEGIN SELECT RAISE(ABORT, 'dlt_review is append-only: DELETE refused'); END""",
)

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION exoneb_dlt_review_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'dlt_review is append-only: % refused', TG_OP;
    END $$""",
    """CREATE TRIGGER dlt_review_no_update_delete BEFORE UPDATE OR DELETE ON dlt_review
    FOR EACH ROW EXECUTE FUNCTION exoneb_dlt_review_append_only()""",
    """CREATE TRIGGER dlt_review_no_truncate BEFORE TRUNCATE ON dlt_review
    FOR EACH STATEMENT EXECUTE FUNCTION exoneb_dlt_review_append_only()""",
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "dlt_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_hold_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.String(length=60), nullable=False),
        sa.Column("arm_code", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.String(length=40), nullable=True),
        sa.Column("candidate_reason", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_event.id"],
            name=op.f("fk_dlt_review_adverse_event_id_adverse_event"),
        ),
        sa.ForeignKeyConstraint(
            ["course_hold_id"],
            ["course_hold.id"],
            name=op.f("fk_dlt_review_course_hold_id_course_hold"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_dlt_review_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user_account.id"],
            name=op.f("fk_dlt_review_reviewed_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dlt_review")),
        sa.UniqueConstraint(
            "course_hold_id", "sequence", name=op.f("uq_dlt_review_course_hold_id_sequence")
        ),
    )
    with op.batch_alter_table("dlt_review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dlt_review_course_hold_id"), ["course_hold_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dlt_review_protocol_id"), ["protocol_id"], unique=False
        )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision (drops the DLT reviews)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS dlt_review_no_update")
        op.execute("DROP TRIGGER IF EXISTS dlt_review_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS dlt_review_no_truncate ON dlt_review")
        op.execute("DROP TRIGGER IF EXISTS dlt_review_no_update_delete ON dlt_review")
        op.execute("DROP FUNCTION IF EXISTS exoneb_dlt_review_append_only()")
    with op.batch_alter_table("dlt_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dlt_review_protocol_id"))
        batch_op.drop_index(batch_op.f("ix_dlt_review_course_hold_id"))
    op.drop_table("dlt_review")
