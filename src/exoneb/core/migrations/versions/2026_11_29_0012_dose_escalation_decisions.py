"""Dose escalation: the signed decisions per dose level (append-only).

Adds ``escalation_decision``: one row per decision of a 3+3 protocol, numbered
per protocol (unique ``protocol_id, sequence``), with the cohort table and the
recommendation it was taken on; signed through ``signature``
(``record_type = "escalation_decision"``). Triggers refuse UPDATE and DELETE on
it, as on ``audit_event``: a decision is corrected by the next decision.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER escalation_decision_no_update BEFORE UPDATE ON escalation_decision
    BEGIN SELECT RAISE(ABORT, 'escalation_decision is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER escalation_decision_no_delete BEFORE DELETE ON escalation_decision
    BEGIN SELECT RAISE(ABORT, 'escalation_decision is append-only: DELETE refused'); END""",
)

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION exoneb_escalation_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'escalation_decision is append-only: % refused', TG_OP;
    END $$""",
    """CREATE TRIGGER escalation_decision_no_update_delete
    BEFORE UPDATE OR DELETE ON escalation_decision
    FOR EACH ROW EXECUTE FUNCTION exoneb_escalation_append_only()""",
    """CREATE TRIGGER escalation_decision_no_truncate BEFORE TRUNCATE ON escalation_decision
    FOR EACH STATEMENT EXECUTE FUNCTION exoneb_escalation_append_only()""",
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "escalation_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.String(length=60), nullable=False),
        sa.Column("protocol_version", sa.String(length=20), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("level_number", sa.Integer(), nullable=False),
        sa.Column("arm_code", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("mtd_level", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recommended_action", sa.String(length=20), nullable=True),
        sa.Column("recommended_level", sa.Integer(), nullable=True),
        sa.Column("recommended_mtd_level", sa.Integer(), nullable=True),
        sa.Column("recommendation_reason", sa.Text(), nullable=True),
        sa.Column("recommendation_source", sa.Text(), nullable=True),
        sa.Column("follows_recommendation", sa.Boolean(), nullable=False),
        sa.Column("cohort", sa.JSON(), nullable=False),
        sa.Column("open_levels_after", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_escalation_decision_decided_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_decision")),
        sa.UniqueConstraint(
            "protocol_id", "sequence", name=op.f("uq_escalation_decision_protocol_id_sequence")
        ),
    )
    with op.batch_alter_table("escalation_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_decision_protocol_id"), ["protocol_id"], unique=False
        )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision (drops the decisions)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS escalation_decision_no_update")
        op.execute("DROP TRIGGER IF EXISTS escalation_decision_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS escalation_decision_no_truncate ON escalation_decision")
        op.execute(
            "DROP TRIGGER IF EXISTS escalation_decision_no_update_delete ON escalation_decision"
        )
        op.execute("DROP FUNCTION IF EXISTS exoneb_escalation_append_only()")
    with op.batch_alter_table("escalation_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_decision_protocol_id"))
    op.drop_table("escalation_decision")
