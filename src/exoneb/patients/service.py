"""Patient actions: register, edit, void, search, read; consent; prescribed care; enrolment.

Each function checks the permission, applies the rules, writes its rows and
one audit row, all inside the caller's transaction (``ctx.db``).
Staff only ever see patients of their own site (a different site's patient
is reported as not found, not as forbidden, so ids cannot be probed).

Enrolment guards: a step package that may refuse an enrolment (the dose-escalation
gate and the cohort pauses of step 4) registers a guard with
:func:`register_enrolment_guard` at import, as the step packages register their
session fact providers, so this lower layer never imports a step's module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select

from exoneb.accounts import service as accounts
from exoneb.accounts.models import Signature
from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import DuplicateRecord, InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.information import service as information
from exoneb.patients.models import Consent, Enrolment, Patient, PrescribedCare
from exoneb.patients.schemas import (
    CareCreate,
    ConsentAmend,
    ConsentCreate,
    EnrolmentCreate,
    PatientCreate,
    PatientUpdate,
)
from exoneb.protocols import registry
from exoneb.protocols.schema import ProtocolFile

_DEMOGRAPHICS = (
    "family_name", "given_name", "birth_date", "sex", "height_cm", "weight_kg",
    "phone", "email", "emergency_contact",
)  # fmt: skip


def snapshot(patient: Patient) -> dict[str, Any]:
    """The audited view of a patient's demographics."""
    data = {name: getattr(patient, name) for name in _DEMOGRAPHICS}
    data.update(mrn=patient.mrn, status=patient.status, version=patient.version)
    return data


def _visible(ctx: Ctx, patient: Patient | None) -> Patient:
    if patient is None or patient.site_id != ctx.actor.site_id:
        raise NotFound("No patient with this id at your site.")
    return patient


def load_visible(ctx: Ctx, patient_id: int) -> Patient:
    """The patient if it exists at the actor's site, else :class:`NotFound` (no read audit)."""
    return _visible(ctx, ctx.db.get(Patient, patient_id))


def _check_version(patient: Patient, version: int) -> None:
    if patient.version != version:
        raise StaleEdit(
            record="patient record",
            changed_by=patient.updated_by,
            changed_at=patient.updated_at,
            version=patient.version,
        )


def create_patient(*, ctx: Ctx, data: PatientCreate) -> Patient:
    """Register a patient at the user's site; a duplicate MRN there is a 409."""
    authorize(ctx=ctx, action=Action.PATIENT_CREATE)
    if ctx.actor.site_id is None:
        raise InvalidInput("Your account has no site.", field="site_id")
    duplicate = ctx.db.scalar(
        select(Patient.id).where(Patient.site_id == ctx.actor.site_id, Patient.mrn == data.mrn)
    )
    if duplicate is not None:
        raise DuplicateRecord(
            f"The MRN {data.mrn} is already registered at this site. "
            "Search for the patient instead of registering them again."
        )
    now = ctx.clock.now()
    patient = Patient(
        site_id=ctx.actor.site_id,
        mrn=data.mrn,
        status="active",
        created_at=now,
        updated_at=now,
        updated_by=ctx.actor.full_name or ctx.actor.username,
        **data.model_dump(include=set(_DEMOGRAPHICS)),
    )
    ctx.db.add(patient)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="patient.create",
        entity_type="patient",
        entity_id=patient.id,
        entity_version=patient.version,
        patient_id=patient.id,
        after=snapshot(patient),
    )
    return patient


def get_patient(*, ctx: Ctx, patient_id: int) -> Patient:
    """Open a patient record; the read itself is audited."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    patient = load_visible(ctx, patient_id)
    audit.record(
        ctx=ctx,
        action="patient.read",
        entity_type="patient",
        entity_id=patient.id,
        entity_version=patient.version,
        patient_id=patient.id,
    )
    return patient


def update_patient(*, ctx: Ctx, patient_id: int, data: PatientUpdate) -> Patient:
    """Change demographics; a stale ``version`` is a 409 naming who changed it."""
    authorize(ctx=ctx, action=Action.PATIENT_UPDATE)
    patient = load_visible(ctx, patient_id)
    if patient.status != "active":
        raise RuleViolation("This patient record is voided and can no longer be changed.")
    _check_version(patient, data.version)
    before = snapshot(patient)
    for name in _DEMOGRAPHICS:
        setattr(patient, name, getattr(data, name))
    if snapshot(patient) == before:
        return patient
    patient.updated_at = ctx.clock.now()
    patient.updated_by = ctx.actor.full_name or ctx.actor.username
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="patient.update",
        entity_type="patient",
        entity_id=patient.id,
        entity_version=patient.version,
        patient_id=patient.id,
        before=before,
        after=snapshot(patient),
    )
    return patient


def void_patient(*, ctx: Ctx, patient_id: int, reason: str, version: int | None) -> Patient:
    """Mark a registration as entered in error; the record stays, flagged, with the reason."""
    authorize(ctx=ctx, action=Action.PATIENT_VOID)
    patient = load_visible(ctx, patient_id)
    if version is not None:
        _check_version(patient, version)
    if patient.status == "voided":
        raise RuleViolation("This patient record is already voided.")
    before = snapshot(patient)
    patient.status, patient.void_reason = "voided", reason
    patient.updated_at = ctx.clock.now()
    patient.updated_by = ctx.actor.full_name or ctx.actor.username
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="patient.void",
        entity_type="patient",
        entity_id=patient.id,
        entity_version=patient.version,
        patient_id=patient.id,
        before=before,
        after=snapshot(patient),
        reason=reason,
    )
    return patient


def search_patients(*, ctx: Ctx, query: str = "", limit: int = 50) -> Sequence[Patient]:
    """Patients at the user's site whose name or MRN contains ``query``.

    Listing patients shows identifying data, so every search (an empty one
    too) is audited — one row per search, not per patient listed, which keeps
    the trail bounded.
    """
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    stmt = select(Patient).where(Patient.site_id == ctx.actor.site_id)
    q = query.strip().lower()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                func.lower(Patient.mrn).like(like),
                func.lower(Patient.family_name).like(like),
                func.lower(Patient.given_name).like(like),
                func.lower(Patient.given_name + " " + Patient.family_name).like(like),
            )
        )
    stmt = stmt.order_by(Patient.family_name, Patient.given_name, Patient.id).limit(limit)
    found = ctx.db.scalars(stmt).all()
    audit.record(
        ctx=ctx,
        action="patient.search",
        entity_type="patient",
        after={"q": q, "results": len(found)},
    )
    return found


# --- consent -----------------------------------------------------------------------------


_LEAFLET_FIELDS = ("leaflet_language", "leaflet_version", "leaflet_sha256")


def _leaflet_fields(settings: Settings | None, data: ConsentCreate) -> dict[str, str | None]:
    """The leaflet columns for a consent: the leaflet named in ``data``, exactly as it is now.

    The hash is taken from the files at the moment of recording, so the record
    proves which wording was on offer even if the files change later.
    """
    if data.leaflet_language is None:
        return dict.fromkeys(_LEAFLET_FIELDS)
    if settings is None:  # a programming error: the clinic's leaflet folder is in the settings
        raise TypeError("Recording a leaflet with a consent needs the settings.")
    leaflet = information.leaflet_given(
        settings=settings, language=data.leaflet_language, version=data.leaflet_version
    )
    return {
        "leaflet_language": leaflet.language,
        "leaflet_version": leaflet.version,
        "leaflet_sha256": leaflet.sha256,
    }


def record_consent(
    *, ctx: Ctx, patient_id: int, data: ConsentCreate, settings: Settings | None = None
) -> Consent:
    """Record informed consent taken by the current user, with the leaflet the patient got.

    ``settings`` locate the clinic's leaflet files; they are needed only when
    ``data`` names a leaflet.
    """
    authorize(ctx=ctx, action=Action.CONSENT_RECORD)
    patient = active_patient(ctx, patient_id)
    if data.consent_date > ctx.clock.now().date():
        raise InvalidInput("The consent date cannot be in the future.", field="consent_date")
    leaflet = _leaflet_fields(settings, data)
    consent = Consent(
        patient_id=patient.id,
        document_version=data.document_version,
        consent_date=data.consent_date,
        taken_by_id=ctx.actor.user_id,
        taken_by=ctx.actor.full_name or ctx.actor.username,
        recorded_at=ctx.clock.now(),
        status="active",
        **leaflet,
    )
    ctx.db.add(consent)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="consent.create",
        entity_type="consent",
        entity_id=consent.id,
        entity_version=consent.version,
        patient_id=patient.id,
        after={
            "document_version": consent.document_version,
            "consent_date": consent.consent_date,
            "taken_by": consent.taken_by,
            **leaflet,
        },
    )
    return consent


def withdraw_consent(*, ctx: Ctx, consent_id: int, reason: str, void: bool = False) -> Consent:
    """Withdraw consent (the patient's decision) or void it (entered in error)."""
    authorize(ctx=ctx, action=Action.CONSENT_RECORD)
    consent = ctx.db.get(Consent, consent_id)
    if consent is None:
        raise NotFound("No such consent record.")
    load_visible(ctx, consent.patient_id)
    if consent.status != "active":
        raise RuleViolation(f"This consent is already {consent.status}.")
    consent.status, consent.status_reason = ("voided" if void else "withdrawn"), reason
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action=f"consent.{'void' if void else 'withdraw'}",
        entity_type="consent",
        entity_id=consent.id,
        entity_version=consent.version,
        patient_id=consent.patient_id,
        before={"status": "active"},
        after={"status": consent.status},
        reason=reason,
    )
    return consent


def amend_consent(
    *, ctx: Ctx, consent_id: int, data: ConsentAmend, settings: Settings | None = None
) -> Consent:
    """Correct a consent record by amendment: a new row supersedes it; the old one stays.

    Consent records are never edited in place, so a signature on the old row
    keeps verifying against exactly what was signed; the new row needs its own.
    An amendment that names no leaflet keeps the leaflet of the row it corrects.
    """
    authorize(ctx=ctx, action=Action.CONSENT_RECORD)
    old = ctx.db.get(Consent, consent_id)
    if old is None:
        raise NotFound("No such consent record.")
    active_patient(ctx, old.patient_id)
    if old.status != "active":
        raise RuleViolation(
            f"This consent is {old.status}; only the current version can be amended."
        )
    if data.consent_date > ctx.clock.now().date():
        raise InvalidInput("The consent date cannot be in the future.", field="consent_date")
    who = ctx.actor.full_name or ctx.actor.username
    leaflet = (
        _leaflet_fields(settings, data)
        if data.leaflet_language is not None
        else {name: getattr(old, name) for name in _LEAFLET_FIELDS}
    )
    new = Consent(
        patient_id=old.patient_id,
        document_version=data.document_version,
        consent_date=data.consent_date,
        taken_by_id=old.taken_by_id,
        taken_by=old.taken_by,
        recorded_at=ctx.clock.now(),
        status="active",
        supersedes_id=old.id,
        amended_by=who,
        status_reason=data.reason,
        **leaflet,
    )
    old.status, old.status_reason = "superseded", f"Amended by {who}: {data.reason}"
    ctx.db.add(new)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="consent.amend",
        entity_type="consent",
        entity_id=new.id,
        entity_version=new.version,
        patient_id=new.patient_id,
        before={
            "consent_id": old.id,
            "document_version": old.document_version,
            "consent_date": old.consent_date,
            **{name: getattr(old, name) for name in _LEAFLET_FIELDS},
        },
        after={
            "consent_id": new.id,
            "document_version": new.document_version,
            "consent_date": new.consent_date,
            "supersedes_id": old.id,
            **leaflet,
        },
        reason=data.reason,
    )
    return new


def get_consent(*, ctx: Ctx, consent_id: int) -> Consent:
    """One consent record of a patient at the user's site."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    consent = ctx.db.get(Consent, consent_id)
    if consent is None:
        raise NotFound("No such consent record.")
    load_visible(ctx, consent.patient_id)
    return consent


def consents(*, ctx: Ctx, patient_id: int) -> Sequence[Consent]:
    """All consent records of a patient, newest first."""
    return ctx.db.scalars(
        select(Consent)
        .where(Consent.patient_id == patient_id)
        .order_by(Consent.consent_date.desc(), Consent.id.desc())
    ).all()


def current_consent(*, ctx: Ctx, patient_id: int) -> Consent | None:
    """The newest active consent, if any."""
    return next((c for c in consents(ctx=ctx, patient_id=patient_id) if c.status == "active"), None)


# --- prescribed care ---------------------------------------------------------------------


def add_care(*, ctx: Ctx, patient_id: int, data: CareCreate) -> PrescribedCare:
    """Record one medicine of the patient's prescribed respiratory care, as prescribed."""
    authorize(ctx=ctx, action=Action.CARE_RECORD)
    patient = active_patient(ctx, patient_id)
    care = PrescribedCare(
        patient_id=patient.id,
        recorded_at=ctx.clock.now(),
        recorded_by=ctx.actor.full_name or ctx.actor.username,
        status="active",
        **data.model_dump(),
    )
    ctx.db.add(care)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="care.create",
        entity_type="prescribed_care",
        entity_id=care.id,
        entity_version=care.version,
        patient_id=patient.id,
        after=data.model_dump(),
    )
    return care


def void_care(*, ctx: Ctx, care_id: int, reason: str) -> PrescribedCare:
    """Mark a care entry as entered in error (it stays visible, struck through)."""
    authorize(ctx=ctx, action=Action.CARE_RECORD)
    care = ctx.db.get(PrescribedCare, care_id)
    if care is None:
        raise NotFound("No such prescribed-care entry.")
    load_visible(ctx, care.patient_id)
    if care.status != "active":
        raise RuleViolation("This entry is already voided.")
    care.status, care.void_reason = "voided", reason
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="care.void",
        entity_type="prescribed_care",
        entity_id=care.id,
        entity_version=care.version,
        patient_id=care.patient_id,
        before={"status": "active"},
        after={"status": "voided"},
        reason=reason,
    )
    return care


def prescribed_care(*, ctx: Ctx, patient_id: int) -> Sequence[PrescribedCare]:
    """All care entries of a patient (active first)."""
    return ctx.db.scalars(
        select(PrescribedCare)
        .where(PrescribedCare.patient_id == patient_id)
        .order_by(PrescribedCare.status, PrescribedCare.id)
    ).all()


# --- enrolment ---------------------------------------------------------------------------

EnrolmentGuard = Callable[[Ctx, ProtocolFile, str], str | None]
"""``(ctx, protocol, arm_code)`` → why enrolment at that arm is refused now, or ``None``."""
_ENROLMENT_GUARDS: list[EnrolmentGuard] = []


def register_enrolment_guard(guard: EnrolmentGuard) -> None:
    """Let a step package refuse enrolments (call once at import; repeats are ignored)."""
    if guard not in _ENROLMENT_GUARDS:
        _ENROLMENT_GUARDS.append(guard)


def enrolment_refusal(ctx: Ctx, protocol: ProtocolFile, arm_code: str) -> str | None:
    """The first registered guard's reason to refuse enrolment at ``arm_code``, or ``None``.

    With no guard registered at all the enrolment is refused rather than let through:
    the dose-level gate and the cohort pauses would otherwise be skipped silently by
    an entry point that forgot to load step 4.
    """
    if not _ENROLMENT_GUARDS:
        return (
            "Enrolment cannot be checked against the open dose levels and cohort pauses "
            "(the monitoring step is not loaded), so it is refused. Contact the administrator."
        )
    return next((msg for guard in _ENROLMENT_GUARDS if (msg := guard(ctx, protocol, arm_code))),
                None)  # fmt: skip


def enrol(*, ctx: Ctx, settings: Settings, patient_id: int, data: EnrolmentCreate) -> Enrolment:
    """Enrol a patient in a protocol arm under an IND/CTA and ethics approval."""
    authorize(ctx=ctx, action=Action.ENROLMENT_CREATE)
    patient = active_patient(ctx, patient_id)
    protocol = registry.get(settings.protocols_dir, data.protocol_id)
    if protocol is None:
        raise InvalidInput("There is no protocol with this id.", field="protocol_id")
    if protocol.arm(data.arm_code) is None:
        codes = ", ".join(a.code for a in protocol.arms)
        raise InvalidInput(
            f"Choose a dose level or arm of this protocol: {codes}.", field="arm_code"
        )
    closed = enrolment_refusal(ctx, protocol, data.arm_code)
    if closed is not None:
        raise RuleViolation(closed)
    if data.authorisation_valid_until and data.authorisation_valid_until < ctx.clock.now().date():
        raise InvalidInput(
            "This authorisation has already expired.", field="authorisation_valid_until"
        )
    existing = ctx.db.scalar(
        select(Enrolment.id).where(
            Enrolment.patient_id == patient.id,
            Enrolment.protocol_id == protocol.id,
            Enrolment.status == "active",
        )
    )
    if existing is not None:
        raise DuplicateRecord("The patient is already enrolled in this protocol.")
    enrolment = Enrolment(
        patient_id=patient.id,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        enrolled_at=ctx.clock.now(),
        enrolled_by=ctx.actor.full_name or ctx.actor.username,
        status="active",
        **data.model_dump(exclude={"protocol_id"}),
    )
    ctx.db.add(enrolment)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="enrolment.create",
        entity_type="enrolment",
        entity_id=enrolment.id,
        entity_version=enrolment.version,
        patient_id=patient.id,
        after={**data.model_dump(), "protocol_version": protocol.version},
    )
    return enrolment


def enrolments(*, ctx: Ctx, patient_id: int) -> Sequence[Enrolment]:
    """All enrolments of a patient, newest first."""
    return ctx.db.scalars(
        select(Enrolment)
        .where(Enrolment.patient_id == patient_id)
        .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
    ).all()


def get_enrolment(*, ctx: Ctx, enrolment_id: int) -> Enrolment:
    """One enrolment at the user's site."""
    enrolment = ctx.db.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("No such enrolment.")
    load_visible(ctx, enrolment.patient_id)
    return enrolment


def authorisation_active(enrolment: Enrolment, *, today: date) -> bool:
    """An enrolment's authorisation counts while the enrolment is active and not expired."""
    if enrolment.status != "active":
        return False
    return (
        enrolment.authorisation_valid_until is None or enrolment.authorisation_valid_until >= today
    )


def active_patient(ctx: Ctx, patient_id: int) -> Patient:
    """A visible patient that is not voided (records may only be added to those)."""
    patient = load_visible(ctx, patient_id)
    if patient.status != "active":
        raise RuleViolation("This patient record is voided; nothing can be added to it.")
    return patient


# --- consent signatures ------------------------------------------------------------------


def consent_content(consent: Consent) -> dict[str, Any]:
    """The fields a consent signature covers (status changes do not invalidate it).

    The leaflet fields are covered when the consent has them; leaving them out
    otherwise keeps signatures made before leaflets were recorded valid.
    """
    content: dict[str, Any] = {
        "consent_id": consent.id,
        "patient_id": consent.patient_id,
        "document_version": consent.document_version,
        "consent_date": consent.consent_date.isoformat(),
        "taken_by_id": consent.taken_by_id,
    }
    if consent.leaflet_sha256 is not None:
        content.update({name: getattr(consent, name) for name in _LEAFLET_FIELDS})
    return content


def sign_consent(
    *, ctx: Ctx, settings: Settings, consent_id: int, meaning: str, password: str
) -> Signature:
    """Sign a consent record (password re-entered; meaning stored with the signature)."""
    consent = ctx.db.get(Consent, consent_id)
    if consent is None:
        raise NotFound("No such consent record.")
    load_visible(ctx, consent.patient_id)
    if consent.status != "active":
        raise RuleViolation(f"This consent is {consent.status}; it cannot be signed.")
    return accounts.sign(
        ctx=ctx,
        settings=settings,
        record_type="consent",
        record_id=consent.id,
        record_version=consent.version,
        content=consent_content(consent),
        meaning=meaning,
        password=password,
        patient_id=consent.patient_id,
    )


def consent_signatures(*, ctx: Ctx, consent: Consent) -> list[tuple[Signature, bool]]:
    """Each signature on a consent and whether it still matches the record."""
    content = consent_content(consent)
    return [
        (sig, accounts.signature_valid(sig, content=content))
        for sig in accounts.signatures_for(ctx=ctx, record_type="consent", record_id=consent.id)
    ]
