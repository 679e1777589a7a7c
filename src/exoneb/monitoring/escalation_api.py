"""JSON API of dose escalation (``/api/v1``): the 3+3 table and the signed decisions.

``GET /protocols/{id}/escalation`` gives the cohort table per dose level, the
3+3 recommendation (decision support, clinical.md §4.5 [unverified]), the
decisions so far and the levels open for enrolment; ``POST …/decisions``
records a physician's signed decision (422 naming the field when a reason or
the password is missing or wrong, 409 when the table changed since it was
read or the level is not open, 403 audited for other roles); ``POST
…/dlt-reviews`` records a physician's signed review of a DLT candidate (DLT or
not, the reason required for "not a DLT"; same error codes).
"""

from __future__ import annotations

from fastapi import APIRouter

from exoneb.monitoring import escalation_service as service
from exoneb.monitoring.escalation_schemas import (
    DltReviewIn,
    DltReviewOut,
    EscalationDecisionIn,
    EscalationDecisionOut,
    EscalationDetailOut,
)
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["monitoring"])


@router.get("/protocols/{protocol_id}/escalation", response_model=EscalationDetailOut)
def escalation(protocol_id: str, auth: AuthDep) -> EscalationDetailOut:
    """The 3+3 cohort table, recommendation, decisions and open levels (decision support)."""
    with auth.action() as ctx:
        e = service.escalation(ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id)
        return EscalationDetailOut.model_validate(service.view(ctx, e))


@router.post(
    "/protocols/{protocol_id}/escalation/decisions",
    response_model=EscalationDecisionOut,
    status_code=201,
)
def decide(protocol_id: str, data: EscalationDecisionIn, auth: AuthDep) -> EscalationDecisionOut:
    """Record and sign the decision at the open dose level (physicians)."""
    with auth.action() as ctx:
        settings = auth.state.settings
        row = service.decide(ctx=ctx, settings=settings, protocol_id=protocol_id, data=data)
        e = service.escalation(ctx=ctx, settings=settings, protocol_id=protocol_id)
        return EscalationDecisionOut.model_validate(service.decision_view(ctx, e, row))


@router.post(
    "/protocols/{protocol_id}/escalation/dlt-reviews",
    response_model=DltReviewOut,
    status_code=201,
)
def review_dlt(protocol_id: str, data: DltReviewIn, auth: AuthDep) -> DltReviewOut:
    """Record and sign a physician's review of a DLT candidate: a DLT, or not (with the reason)."""
    with auth.action() as ctx:
        settings = auth.state.settings
        row = service.review_dlt(ctx=ctx, settings=settings, protocol_id=protocol_id, data=data)
        return DltReviewOut.model_validate(service.dlt_review_view(ctx, row))
