"""Demo data that reaches step 4: dose-level-1 subjects taken through every step for real.

Called by ``exoneb demo`` after the other steps have seeded the staff, the
released demo lot, the saline lot and the nebulizers. Everything goes through
the ordinary services, each action by the role that does it in a clinic, so
every row carries its audit entry and every step its e-signature:

* three DL1 subjects (DEMO-0004 … DEMO-0006) each assessed and signed, their
  dose prepared (pharmacist) and verified (nurse), nebulized (the first with a
  pause for cough), the run stopped, the residual measured and the run signed,
  observed at 0, 15 and 30 min after nebulization and discharged with a signed
  checklist, and reached by the next-day call — five weeks ago, so their
  28-day DLT window (the demo protocol's ``escalation.dlt_window_days``) is
  over without a dose-limiting toxicity and the 3+3 table recommends
  escalating to level 2 (clinical.md §4.5, [unverified]);
* a fourth (DEMO-0007) in monitoring now, its bedside oximeter showing a
  40-second dip below 90 %: an open SpO2 alert on the clinic overview (and on
  the escalation page, a subject in the DLT window).

Time runs on the demo clock: ``exoneb demo`` starts it in the past
(:data:`HISTORY` before now) and the seed advances it step by step, placing the
monitored session about :data:`MONITORED_FOR` before ``until`` (the real now),
so every timestamp is in the past and the schedule shows what is due next.
All values are invented. Decision support, not medical advice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.assessment import schemas as a
from exoneb.assessment import service as assessment
from exoneb.core.clock import Clock, FrozenClock
from exoneb.core.config import Settings
from exoneb.core.context import Actor, Ctx
from exoneb.inhalation import schemas as i
from exoneb.inhalation import service as inhalation
from exoneb.monitoring import follow_up_service, service
from exoneb.monitoring.schemas import (
    AdverseEventIn,
    DischargeIn,
    FollowUpAttemptRequest,
    ObservationBatchIn,
    ObservationIn,
)
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.patients.schemas import CareCreate, ConsentCreate, EnrolmentCreate, PatientCreate
from exoneb.preparation import service as preparation
from exoneb.preparation.schemas import PrepareIn, ThawIn, VerifyIn
from exoneb.sessions import service as sessions
from exoneb.sessions.rules import State
from exoneb.sessions.schemas import SessionPlan

#: The demo protocol's DLT window (``escalation.dlt_window_days``, clinical.md §1.2).
DLT_WINDOW = timedelta(days=28)
#: How far back ``exoneb demo`` starts its clock: the first DL1 cohort is dosed then, a
#: week more than the DLT window ago; the seed's own steps need about 3 h 40 min.
HISTORY = DLT_WINDOW + timedelta(days=7, hours=5)
#: How long the last session has been in monitoring when the demo is seeded.
MONITORED_FOR = timedelta(minutes=12)
DEMO_LOT, DEMO_SALINE_LOT, DEMO_DEVICE = "DEMO-EV-0001", "DEMO-NS-0001", "AS-2026-0042"

#: (MRN, family name, given name, birth date, sex, height cm, weight kg)
SUBJECTS: tuple[tuple[str, str, str, date, str, float, float], ...] = (
    ("DEMO-0004", "Harvey", "William", date(1958, 4, 1), "male", 175, 78),
    ("DEMO-0005", "Jenner", "Edwina", date(1963, 5, 17), "female", 162, 64),
    ("DEMO-0006", "Snow", "John", date(1954, 3, 15), "male", 180, 82),
    ("DEMO-0007", "Apgar", "Virginia", date(1966, 6, 7), "female", 168, 70),
)
#: Answers of a COPD patient who passes every default eligibility rule (clinical.md §5.2, §4.3).
HISTORY_ANSWERS: dict[str, Any] = {
    "diagnosis": "copd", "diagnosis_confirmed": True, "dlco_percent_predicted": 62.0,
    "clinically_stable_4_weeks": True, "can_use_mouthpiece_or_mask": True,
    "can_perform_spirometry": True, "last_exacerbation_date": "2025-05-01",
    "last_respiratory_steroid_or_antibiotic_date": "none",
    "last_respiratory_hospitalisation_date": "none", "active_infection": False,
    "viral_test_required": False, "active_or_recent_malignancy": False,
    "pregnant_or_lactating": False, "hypersensitivity_to_product_components": False,
    "severe_allergy_or_multiple_allergies": False, "current_smoking_or_vaping": False,
    "last_mi_or_unstable_angina_date": "none", "uncontrolled_heart_failure": False,
    "significant_arrhythmia": False, "airway_hyperreactivity_to_saline": False,
    "long_term_immunosuppression": False, "transplant_recipient": False,
    "alt_x_uln": 0.8, "ast_x_uln": 0.9, "egfr_ml_min_1_73m2": 78.0,
    "last_other_investigational_product_date": "none",
    "other_investigational_product_within_5_half_lives": False,
    "able_to_consent_and_follow_schedule": True,
    "chronic_hypoxaemia_or_hypercapnia_documented": False,
}  # fmt: skip
_CAT = ("cough", "phlegm", "chest_tightness", "breathlessness", "activities", "confidence",
        "sleep", "energy")  # fmt: skip
#: Post-dose vitals at the pre-session values (SpO2 95 %, HR 78/min, FEV1 1.30 L pre).
_VITALS: dict[str, Any] = {"spo2_pct": 95, "heart_rate_per_min": 80, "resp_rate_per_min": 16,
                           "sbp_mmhg": 130, "dbp_mmhg": 80}  # fmt: skip
#: From planning a session to the end of its nebulization on the demo clock (the waits below).
_TO_END_OF_NEBULIZATION = timedelta(minutes=5 + 4 + 3 + 10 + 3 + 2 + 2 + 9)
_CLEAR: dict[str, Any] = {"fev1_l": 1.26, "wheeze": False, "stridor": False, "symptom_grade": 0,
                          "respiratory_symptoms": False}  # fmt: skip


@dataclasses.dataclass
class _Demo:
    """The transaction, the demo clock, the staff by role and the stock the sessions draw on."""

    ctx: Ctx
    clock: FrozenClock
    staff: Mapping[Role, Actor]
    settings: Settings
    lot_id: int = 0
    saline_id: int = 0
    device_id: int = 0

    def as_(self, role: Role) -> Ctx:
        """The same transaction, acting as the demo user of ``role`` on the demo clock."""
        return dataclasses.replace(self.ctx, actor=self.staff[role], clock=self.clock)

    def wait(self, minutes: float) -> datetime:
        """Let ``minutes`` pass on the demo clock: the new time."""
        self.clock.advance(timedelta(minutes=minutes))
        return self.clock.now()

    def at(self, when: datetime) -> None:
        """Let the demo clock run on to ``when`` (never backwards)."""
        if when > self.clock.now():
            self.clock.advance(when - self.clock.now())

    @property
    def password(self) -> str:
        """Every demo account's password (the e-signatures re-enter it)."""
        return self.settings.demo_password


def _frozen(clock: Clock) -> FrozenClock:
    return clock if isinstance(clock, FrozenClock) else FrozenClock(clock.now())


def _subject(d: _Demo, row: tuple[str, str, str, date, str, float, float]) -> int:
    """Register, consent and enrol one subject at DL1, plan their session now: its id."""
    mrn, family, given, born, sex, height, weight = row
    ctx = d.as_(Role.PHYSICIAN)
    p = patients.create_patient(ctx=ctx, data=PatientCreate(
        mrn=mrn, family_name=family, given_name=given, birth_date=born, sex=sex,
        height_cm=height, weight_kg=weight))  # fmt: skip
    patients.add_care(ctx=ctx, patient_id=p.id, data=CareCreate(
        medicine="Tiotropium", dose="18 µg", route="inhaled", frequency="once daily",
        prescriber="Dr. R. Laennec"))  # fmt: skip
    patients.record_consent(
        ctx=ctx,
        patient_id=p.id,
        settings=d.settings,
        data=ConsentCreate(
            document_version="ICF v1.0", consent_date=d.clock.now().date(), leaflet_language="en"
        ),
    )
    enrolment = patients.enrol(ctx=ctx, settings=d.settings, patient_id=p.id, data=EnrolmentCreate(
        protocol_id="demo-exo-01", arm_code="DL1", authorisation_kind="IND",
        authorisation_number="DEMO-IND-000000", ethics_approval="EC-DEMO-2026-01"))  # fmt: skip
    return sessions.plan_session(ctx=d.as_(Role.NURSE), patient_id=p.id, data=SessionPlan(
        enrolment_id=enrolment.id, planned_for=d.clock.now(),
        note="Demo: dose level 1, single inhalation")).id  # fmt: skip


def _move(d: _Demo, session_id: int, target: State) -> None:
    ctx = d.as_(Role.NURSE)
    s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
    sessions.move(ctx=ctx, session_id=session_id, target=target, version=s.version)


def _assess(d: _Demo, session_id: int) -> None:
    """Step 1: the nurse records, the decision clears, the physician signs."""
    ctx, sid = d.as_(Role.NURSE), session_id
    version = assessment.start(ctx=ctx, session_id=sid).version
    for kind, fev1, fvc in (("pre", 1.30, 2.60), ("post_bd", 1.40, 2.70)):
        assessment.record_spirometry(ctx=ctx, session_id=sid, data=a.SpirometryIn(
            kind=kind, fev1_l=fev1, fvc_l=fvc, version=version))  # fmt: skip
        version = _version(ctx, sid)
    assessment.record_vitals(ctx=ctx, session_id=sid, data=a.VitalsIn(
        spo2_percent=95, oxygen_source="room_air", heart_rate_bpm=78,
        respiratory_rate_per_min=16, systolic_bp_mmhg=132, diastolic_bp_mmhg=82,
        temperature_c=36.8, version=_version(ctx, sid)))  # fmt: skip
    assessment.record_scales(ctx=ctx, session_id=sid, data=a.ScalesIn(
        mmrc_grade=2, cat_items=dict.fromkeys(_CAT, 2), version=_version(ctx, sid)))  # fmt: skip
    session = sessions.get_session(ctx=ctx, session_id=sid, refresh=True)
    care = patients.prescribed_care(ctx=ctx, patient_id=session.patient_id)[0]
    done = assessment.record_care(
        ctx=ctx,
        session_id=sid,
        data=a.CareIn(
            version=_version(ctx, sid),
            answers=[
                a.CareAnswerIn(
                    care_id=care.id, taken_as_prescribed=True, last_changed_on=date(2025, 6, 1)
                )
            ],
        ),
    )
    done = assessment.record_history(ctx=ctx, session_id=sid, data=a.HistoryIn(
        answers=HISTORY_ANSWERS, version=done.version))  # fmt: skip
    decided = assessment.decide(ctx=ctx, settings=d.settings, session_id=sid,
                                data=a.Versioned(version=done.version))  # fmt: skip
    d.wait(4)
    assessment.sign(ctx=d.as_(Role.PHYSICIAN), settings=d.settings, session_id=sid,
                    data=a.SignIn(password=d.password, version=decided.version))  # fmt: skip
    _move(d, sid, State.ASSESSED)
    _move(d, sid, State.CLEARED)


def _version(ctx: Ctx, session_id: int) -> int:
    current = assessment.current(ctx=ctx, session_id=session_id)
    assert current is not None  # started above
    return current.version


def _prepare(d: _Demo, session_id: int) -> None:
    """Step 2: the pharmacist thaws a vial and prepares the dose; the nurse verifies it."""
    ctx = d.as_(Role.PHARMACIST)
    preparation.thaw_vial(ctx=ctx, settings=d.settings, data=ThawIn(lot_id=d.lot_id))
    d.wait(10)
    preparation.prepare(ctx=ctx, settings=d.settings, session_id=session_id, data=PrepareIn(
        lot_id=d.lot_id, saline_lot_id=d.saline_id, appearance_ok=True,
        password=d.password))  # fmt: skip
    _move(d, session_id, State.PREPARED)
    d.wait(3)
    nurse = d.as_(Role.NURSE)
    prepared = preparation.active_preparation(nurse, session_id)
    assert prepared is not None  # prepared just above
    preparation.verify(ctx=nurse, settings=d.settings, session_id=session_id,
                       data=VerifyIn(version=prepared.version, password=d.password))  # fmt: skip
    _move(d, session_id, State.VERIFIED)


def _run(d: _Demo, session_id: int, name: str, **data: Any) -> None:
    """One step of the inhalation run, by the nurse, on the run's current version."""
    ctx, sid = d.as_(Role.NURSE), session_id
    run = inhalation.current_run(ctx=ctx, session_id=sid)
    assert run is not None  # set up first
    v = run.version
    if name == "supervisor":
        inhalation.record_supervisor(ctx=ctx, session_id=sid, data=i.Versioned(version=v))
    elif name == "start":
        inhalation.start(ctx=ctx, session_id=sid, data=i.Versioned(version=v))
    elif name == "pause":
        inhalation.pause(ctx=ctx, session_id=sid, data=i.PauseIn(version=v, **data))
    elif name == "resume":
        inhalation.resume(ctx=ctx, session_id=sid, data=i.Versioned(version=v))
    elif name == "stop":
        inhalation.stop(ctx=ctx, settings=d.settings, session_id=sid,
                        data=i.StopIn(version=v, **data))  # fmt: skip
    elif name == "residual":
        inhalation.record_residual(ctx=ctx, settings=d.settings, session_id=sid,
                                   data=i.ResidualIn(version=v, **data))  # fmt: skip
    else:
        inhalation.sign(ctx=ctx, settings=d.settings, session_id=sid,
                        data=i.SignIn(version=v, password=d.password))  # fmt: skip


def _nebulize(d: _Demo, session_id: int, with_pause: bool) -> datetime:
    """Step 3: set up, supervisor, start, (pause for cough), stop, residual, sign.

    Returns the end of nebulization (time zero of the observation schedule).
    """
    inhalation.set_up(ctx=d.as_(Role.NURSE), settings=d.settings, session_id=session_id,
                      data=i.SetUpIn(device_id=d.device_id))  # fmt: skip
    _run(d, session_id, "supervisor")
    d.wait(2)
    _run(d, session_id, "start")
    if with_pause:
        d.wait(3)
        _run(d, session_id, "pause", reason="cough", note="Demo: dry cough, mouthpiece removed")
        d.wait(1.5)
        _run(d, session_id, "resume")
    d.wait(6 if with_pause else 9)
    _run(d, session_id, "stop", reason="output_stopped", note="Demo: no more aerosol")
    end = d.clock.now()
    d.wait(1)
    _run(d, session_id, "residual", residual_ml=0.3)
    _run(d, session_id, "sign")
    return end


def _observe(d: _Demo, session_id: int, at: datetime, **values: Any) -> None:
    service.record_observation(ctx=d.as_(Role.NURSE), settings=d.settings, session_id=session_id,
                               data=ObservationIn(observed_at=at, **values))  # fmt: skip


def _discharged(d: _Demo, session_id: int, with_event: bool) -> None:
    """Step 4: observations at 0, 15 and 30 min (spirometry at 15), then the signed discharge."""
    start = d.clock.now()
    _observe(d, session_id, start, **_VITALS, note="Demo: end of nebulization")
    if with_event:
        d.wait(4)
        service.record_adverse_event(
            ctx=d.as_(Role.NURSE), settings=d.settings, session_id=session_id,
            data=AdverseEventIn(term="cough", grade=1, onset_at=start - timedelta(minutes=8),
                                end_at=start + timedelta(minutes=2), causality="possible",
                                description="Demo: brief dry cough during nebulization",
                                outcome="recovered", resolved=True),
        )  # fmt: skip
    for minute in (15, 30):
        d.at(start + timedelta(minutes=minute))
        _observe(d, session_id, d.clock.now(), **_VITALS, **_CLEAR)
    d.wait(2)
    service.discharge(ctx=d.as_(Role.NURSE), settings=d.settings, session_id=session_id,
                      data=DischargeIn(
                          walks_unaided=True, instructions_given=True, follow_up_scheduled=True,
                          follow_up_at=d.clock.now() + timedelta(days=1),
                          contact="Demo clinic, +1 555 0100", password=d.password))  # fmt: skip


def _alerting(d: _Demo, session_id: int) -> None:
    """In monitoring: the minute-0 vitals, then the bedside oximeter's 40-second dip below 90 %."""
    start = d.clock.now()
    _observe(d, session_id, start, **_VITALS, note="Demo: end of nebulization")
    d.wait(MONITORED_FOR.total_seconds() / 60 - 3)
    stream = [
        ObservationIn(observed_at=d.clock.now() + timedelta(seconds=s),
                      spo2_pct=89 if 10 <= s <= 50 else 95, heart_rate_per_min=88)
        for s in range(0, 61, 5)
    ]  # fmt: skip
    service.ingest_batch(
        ctx=d.as_(Role.NURSE),
        settings=d.settings,
        session_id=session_id,
        data=ObservationBatchIn(device_id="DEMO-OXIMETER", observations=stream),
    )


def _next_day_calls(d: _Demo) -> None:
    """The next-day calls of the discharged subjects: reached, no new symptoms — except the
    last, never answered: the protocol's third attempt gives it up, for a physician to review."""
    nurse = d.as_(Role.NURSE)
    rows = follow_up_service.follow_up_calls(ctx=nurse, settings=d.settings, include_done=False)
    for n, row in enumerate(rows):
        d.at(row.call.due_at)
        if n == len(rows) - 1:
            _unanswered(d, row.call.id)
            continue
        follow_up_service.record_follow_up_attempt(
            ctx=nurse, settings=d.settings, call_id=row.call.id,
            data=FollowUpAttemptRequest(version=row.call.version, outcome="reached",
                                        symptoms_reported=False,
                                        note="Demo: feels well, no new symptoms"),
        )  # fmt: skip
        d.wait(5)


def _unanswered(d: _Demo, call_id: int) -> None:
    """Not reached at the due time and at each protocol retry, until the calls stop."""
    nurse = d.as_(Role.NURSE)
    call = None
    while call is None or call.status == "open":
        if call is not None:
            d.at(call.due_at)
        call, _ = follow_up_service.record_follow_up_attempt(
            ctx=nurse, settings=d.settings, call_id=call_id,
            data=FollowUpAttemptRequest(version=call.version if call else 1,
                                        outcome="not_reached",
                                        note="Demo: no answer, voicemail left"),
        )  # fmt: skip


def _stock(d: _Demo) -> None:
    """The demo lot, saline lot and nebulizer seeded by steps 2 and 3."""
    ctx = d.as_(Role.PHARMACIST)
    by_number = {lot.lot_number: lot.id for lot in preparation.lots(ctx=ctx)}
    d.lot_id, d.saline_id = by_number[DEMO_LOT], by_number[DEMO_SALINE_LOT]
    nurse = d.as_(Role.NURSE)
    d.device_id = next(x.id for x in inhalation.devices(ctx=nurse)
                       if x.serial_or_lot == DEMO_DEVICE)  # fmt: skip


def seed(
    ctx: Ctx, settings: Settings, staff: Mapping[Role, Actor], until: datetime | None = None
) -> int:
    """Take the demo subjects through the steps (see the module docstring): how many sessions.

    ``staff`` gives the demo user of each role. The clock of ``ctx`` is advanced
    (a :class:`FrozenClock`; another clock is frozen at its current time);
    ``until``, when given, is the real now: the monitored session ends its
    nebulization :data:`MONITORED_FOR` before it. Seeds nothing (returns 0) when
    the demo subjects exist already.
    """
    if ctx.db.scalar(select(Patient.id).where(Patient.mrn == SUBJECTS[0][0])) is not None:
        return 0
    d = _Demo(ctx=ctx, clock=_frozen(ctx.clock), staff=staff, settings=settings)
    _stock(d)
    seeded = 0
    for n, row in enumerate(SUBJECTS):
        last = n == len(SUBJECTS) - 1
        if last and until is not None:  # nebulization ends MONITORED_FOR before ``until``
            _next_day_calls(d)
            d.at(until - _TO_END_OF_NEBULIZATION - MONITORED_FOR)
        session_id = _subject(d, row)
        d.wait(5)
        _assess(d, session_id)
        d.wait(3)
        _prepare(d, session_id)
        d.wait(2)
        _nebulize(d, session_id, with_pause=n == 0)
        if last:
            _alerting(d, session_id)
        else:
            _discharged(d, session_id, with_event=n == 0)
            d.wait(5)
        seeded += 1
    return seeded
