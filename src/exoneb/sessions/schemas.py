"""Request and response models for therapy sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from exoneb.sessions.rules import State

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class SessionPlan(BaseModel):
    """Plan a session under one of the patient's enrolments."""

    enrolment_id: int = Field(ge=1)
    planned_for: AwareDatetime | datetime = Field(
        description="When the session is planned; times without a zone are read as UTC."
    )
    note: str | None = Field(default=None, max_length=1000)


class SessionMove(BaseModel):
    """Move a session to ``target``; ``version`` is the version the user saw."""

    target: State
    version: int = Field(ge=1)
    reason: str | None = Field(default=None, max_length=1000)


class SessionAbort(BaseModel):
    """Abort a session; the reason is required."""

    reason: Reason
    version: int = Field(ge=1)


class TransitionRead(BaseModel):
    """One history entry."""

    model_config = ConfigDict(from_attributes=True)

    from_state: str | None
    to_state: str
    at: datetime
    actor_name: str
    reason: str | None


class OptionRead(BaseModel):
    """A possible next state and what blocks it."""

    target: State
    allowed: bool
    blockers: list[str]


class SessionRead(BaseModel):
    """A session as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    enrolment_id: int
    protocol_id: str
    protocol_version: str
    arm_code: str
    state: State
    planned_for: datetime
    note: str | None
    abort_reason: str | None
    updated_at: datetime
    updated_by: str
    version: int
