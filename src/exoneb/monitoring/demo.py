"""Demo data for step 4: observations, an alert and a graded event on monitored sessions.

Called by ``exoneb demo`` after the other steps have seeded their records. It
only works on sessions that really reached ``inhaling`` or ``monitoring``
through the state machine (it never forces a state), so until steps 2 and 3
seed such a session it adds nothing and says so.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.monitoring import service
from exoneb.monitoring.schemas import AdverseEventIn, ObservationBatchIn, ObservationIn
from exoneb.sessions.models import TherapySession


def seed(ctx: Ctx, settings: Settings) -> int:
    """Add a monitoring record to every observed demo session; returns how many were seeded."""
    observed = ctx.db.scalars(
        select(TherapySession).where(TherapySession.state.in_(sorted(service.OBSERVING)))
    ).all()
    now = ctx.clock.now()
    seeded = 0
    for session in observed:
        if service.observations(ctx=ctx, session_id=session.id):
            continue
        start = now - timedelta(minutes=16)
        service.record_observation(
            ctx=ctx, settings=settings, session_id=session.id,
            data=ObservationIn(observed_at=start, spo2_pct=95, heart_rate_per_min=82,
                               resp_rate_per_min=16, sbp_mmhg=128, dbp_mmhg=80,
                               respiratory_symptoms=False, note="Demo: end of nebulization"),
        )  # fmt: skip
        # A one-minute stream from the bedside monitor with a 40-second dip below 90 %.
        stream = [
            ObservationIn(observed_at=start + timedelta(minutes=5, seconds=s),
                          spo2_pct=89 if 10 <= s <= 50 else 95, heart_rate_per_min=88)
            for s in range(0, 61, 5)
        ]  # fmt: skip
        service.ingest_batch(
            ctx=ctx, settings=settings, session_id=session.id,
            data=ObservationBatchIn(device_id="DEMO-OXIMETER", observations=stream),
        )  # fmt: skip
        service.record_adverse_event(
            ctx=ctx, settings=settings, session_id=session.id,
            data=AdverseEventIn(term="cough", grade=1, onset_at=start + timedelta(minutes=2),
                                causality="possible", description="Demo: brief dry cough",
                                outcome="recovering"),
        )  # fmt: skip
        seeded += 1
    return seeded
