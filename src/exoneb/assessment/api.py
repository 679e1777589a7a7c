"""JSON API for a session's assessment (``/api/v1/sessions/{id}/assessment``…).

Every edit sends the assessment ``version`` it loaded (409 when stale); a
refused role is a 403 with a ``permission.denied`` audit row; a value out of
range is a 422 naming the field.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from exoneb.assessment import service
from exoneb.assessment.schemas import (
    AmendIn,
    AssessmentOut,
    CareIn,
    HistoryIn,
    OverrideIn,
    ScalesIn,
    SignIn,
    SpirometryIn,
    Versioned,
    VitalsIn,
)
from exoneb.core.context import Ctx
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["assessment"])
BASE = "/sessions/{session_id}/assessment"


@router.post(BASE, response_model=AssessmentOut, status_code=status.HTTP_201_CREATED)
def start(session_id: int, auth: AuthDep) -> AssessmentOut:
    """Start the (draft) assessment of a planned session."""
    with auth.action() as ctx:
        a = service.start(ctx=ctx, session_id=session_id)
        return AssessmentOut.model_validate(service.view(ctx=ctx, a=a))


@router.get(BASE, response_model=AssessmentOut)
def read(session_id: int, auth: AuthDep) -> AssessmentOut:
    """The session's current assessment with its measurements and decision (audited read)."""
    with auth.action() as ctx:
        a = service.get(ctx=ctx, session_id=session_id)
        return AssessmentOut.model_validate(service.view(ctx=ctx, a=a))


@router.put(f"{BASE}/spirometry", response_model=AssessmentOut)
def spirometry(session_id: int, data: SpirometryIn, auth: AuthDep) -> AssessmentOut:
    """Record or replace a spirometry test (``kind``: pre or post_bd); returns z-scores, flags."""
    with auth.action() as ctx:
        service.record_spirometry(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, session_id)


def _current(ctx: Ctx, session_id: int) -> AssessmentOut:
    return AssessmentOut.model_validate(service.current_view(ctx=ctx, session_id=session_id))


@router.put(f"{BASE}/vitals", response_model=AssessmentOut)
def vitals(session_id: int, data: VitalsIn, auth: AuthDep) -> AssessmentOut:
    """Record or replace the vital signs."""
    with auth.action() as ctx:
        service.record_vitals(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, session_id)


@router.put(f"{BASE}/scales", response_model=AssessmentOut)
def scales(session_id: int, data: ScalesIn, auth: AuthDep) -> AssessmentOut:
    """Record or replace CAT, mMRC and the six-minute walk."""
    with auth.action() as ctx:
        service.record_scales(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, session_id)


@router.put(f"{BASE}/care", response_model=AssessmentOut)
def care(session_id: int, data: CareIn, auth: AuthDep) -> AssessmentOut:
    """Record whether the prescribed respiratory care is taken as prescribed."""
    with auth.action() as ctx:
        service.record_care(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, session_id)


@router.put(f"{BASE}/history", response_model=AssessmentOut)
def history(session_id: int, data: HistoryIn, auth: AuthDep) -> AssessmentOut:
    """Record answers to the history questions the eligibility rules read."""
    with auth.action() as ctx:
        service.record_history(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, session_id)


@router.post(f"{BASE}/decision", response_model=AssessmentOut)
def decide(session_id: int, data: Versioned, auth: AuthDep) -> AssessmentOut:
    """Compute the eligibility decision: every rule's outcome, values used and missing data."""
    with auth.action() as ctx:
        service.decide(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return _current(ctx, session_id)


@router.post(f"{BASE}/override", response_model=AssessmentOut)
def override(session_id: int, data: OverrideIn, auth: AuthDep) -> AssessmentOut:
    """A physician overrides the computed outcome (reason required; both are kept)."""
    with auth.action() as ctx:
        service.override(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return _current(ctx, session_id)


@router.post(f"{BASE}/sign", response_model=AssessmentOut)
def sign(session_id: int, data: SignIn, auth: AuthDep) -> AssessmentOut:
    """A physician signs the decision (meaning "approved"; password re-entered)."""
    with auth.action() as ctx:
        service.sign(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return _current(ctx, session_id)


@router.post(f"{BASE}/amend", response_model=AssessmentOut)
def amend(session_id: int, data: AmendIn, auth: AuthDep) -> AssessmentOut:
    """Amend a signed assessment: a new draft version; the signed one stays."""
    with auth.action() as ctx:
        service.amend(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, session_id)
