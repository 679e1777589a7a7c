"""Tables of the signed dose-escalation decisions and DLT reviews (both append-only).

One row per decision, numbered per protocol (``sequence`` 1, 2, …, unique, so
two people deciding on the same table at once cannot both be recorded). The
row keeps what the decider saw — the cohort table, the 3+3 recommendation with
its reason and source — and what was decided, why, and which levels it left
open. It is signed (a ``signature`` row with ``record_type =
"escalation_decision"`` and ``record_id`` = this id) and never changed:
database triggers refuse UPDATE and DELETE (migration 0012). A mistaken
decision is corrected by the next decision, with its reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exoneb.core.db import Base, UTCDateTime


class EscalationDecision(Base):
    """One signed decision at an open dose level of a 3+3 protocol."""

    __tablename__ = "escalation_decision"
    __table_args__ = (UniqueConstraint("protocol_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(60), index=True)
    protocol_version: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer)
    level_number: Mapped[int] = mapped_column(Integer)
    arm_code: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    mtd_level: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    recommended_action: Mapped[str | None] = mapped_column(String(20))
    recommended_level: Mapped[int | None] = mapped_column(Integer)
    recommended_mtd_level: Mapped[int | None] = mapped_column(Integer)
    recommendation_reason: Mapped[str | None] = mapped_column(Text)
    recommendation_source: Mapped[str | None] = mapped_column(Text)
    follows_recommendation: Mapped[bool] = mapped_column(Boolean)
    cohort: Mapped[list[Any]] = mapped_column(JSON)
    open_levels_after: Mapped[list[Any]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_by: Mapped[str] = mapped_column(String(200))


class DltReview(Base):
    """One signed review of a DLT candidate: a DLT or not. A later review supersedes it."""

    __tablename__ = "dlt_review"
    __table_args__ = (UniqueConstraint("course_hold_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_hold_id: Mapped[int] = mapped_column(ForeignKey("course_hold.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    protocol_id: Mapped[str] = mapped_column(String(60), index=True)
    arm_code: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    adverse_event_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_event.id"))
    rule_id: Mapped[str | None] = mapped_column(String(40))
    candidate_reason: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(10))  # DltVerdict: dlt | not_dlt
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reviewed_by: Mapped[str] = mapped_column(String(200))
