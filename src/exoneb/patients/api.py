"""JSON API for patients, consent, prescribed care and enrolment (``/api/v1/patients``…)."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from exoneb.accounts.schemas import SignatureRead, SignRequest
from exoneb.accounts.service import SIGNATURE_MEANINGS
from exoneb.patients import service
from exoneb.patients.schemas import (
    CareCreate,
    CareRead,
    ConsentAmend,
    ConsentCreate,
    ConsentRead,
    EnrolmentCreate,
    EnrolmentRead,
    PatientCreate,
    PatientRead,
    PatientUpdate,
    VoidRequest,
)
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["patients"])


@router.get("/patients", response_model=list[PatientRead])
def search(auth: AuthDep, q: str = Query(default="", max_length=100)) -> list[PatientRead]:
    """Patients at your site whose name or MRN contains ``q``."""
    with auth.action() as ctx:
        return [PatientRead.model_validate(p) for p in service.search_patients(ctx=ctx, query=q)]


@router.post("/patients", response_model=PatientRead, status_code=status.HTTP_201_CREATED)
def create(data: PatientCreate, auth: AuthDep) -> PatientRead:
    """Register a patient (409 if the MRN is already registered at your site)."""
    with auth.action() as ctx:
        return PatientRead.model_validate(service.create_patient(ctx=ctx, data=data))


@router.get("/patients/{patient_id}", response_model=PatientRead)
def read(patient_id: int, auth: AuthDep) -> PatientRead:
    """One patient record (the read is audited)."""
    with auth.action() as ctx:
        return PatientRead.model_validate(service.get_patient(ctx=ctx, patient_id=patient_id))


@router.put("/patients/{patient_id}", response_model=PatientRead)
def update(patient_id: int, data: PatientUpdate, auth: AuthDep) -> PatientRead:
    """Change demographics; send the ``version`` you loaded (409 if someone changed it since)."""
    with auth.action() as ctx:
        patient = service.update_patient(ctx=ctx, patient_id=patient_id, data=data)
        return PatientRead.model_validate(patient)


@router.post("/patients/{patient_id}/void", response_model=PatientRead)
def void(patient_id: int, data: VoidRequest, auth: AuthDep) -> PatientRead:
    """Void a registration entered in error (the record stays, flagged)."""
    with auth.action() as ctx:
        patient = service.void_patient(
            ctx=ctx, patient_id=patient_id, reason=data.reason, version=data.version
        )
        return PatientRead.model_validate(patient)


@router.get("/patients/{patient_id}/consents", response_model=list[ConsentRead])
def list_consents(patient_id: int, auth: AuthDep) -> list[ConsentRead]:
    """A patient's consent records, newest first."""
    with auth.action() as ctx:
        service.get_patient(ctx=ctx, patient_id=patient_id)
        return [
            ConsentRead.model_validate(c) for c in service.consents(ctx=ctx, patient_id=patient_id)
        ]


@router.post(
    "/patients/{patient_id}/consents",
    response_model=ConsentRead,
    status_code=status.HTTP_201_CREATED,
)
def add_consent(patient_id: int, data: ConsentCreate, auth: AuthDep) -> ConsentRead:
    """Record consent you obtained."""
    with auth.action() as ctx:
        consent = service.record_consent(
            ctx=ctx, patient_id=patient_id, data=data, settings=auth.state.settings
        )
        return ConsentRead.model_validate(consent)


@router.post(
    "/consents/{consent_id}/amend", response_model=ConsentRead, status_code=status.HTTP_201_CREATED
)
def amend_consent(consent_id: int, data: ConsentAmend, auth: AuthDep) -> ConsentRead:
    """Correct a consent by amendment (a new version; the old one stays, superseded)."""
    with auth.action() as ctx:
        return ConsentRead.model_validate(
            service.amend_consent(
                ctx=ctx, consent_id=consent_id, data=data, settings=auth.state.settings
            )
        )


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentRead)
def withdraw_consent(consent_id: int, data: VoidRequest, auth: AuthDep) -> ConsentRead:
    """The patient withdrew consent."""
    with auth.action() as ctx:
        consent = service.withdraw_consent(ctx=ctx, consent_id=consent_id, reason=data.reason)
        return ConsentRead.model_validate(consent)


@router.post(
    "/consents/{consent_id}/sign", response_model=SignatureRead, status_code=status.HTTP_201_CREATED
)
def sign_consent(consent_id: int, data: SignRequest, auth: AuthDep) -> SignatureRead:
    """Sign a consent record: re-enter your password; the meaning is stored with it."""
    with auth.action() as ctx:
        sig = service.sign_consent(
            ctx=ctx,
            settings=auth.state.settings,
            consent_id=consent_id,
            meaning=data.meaning,
            password=data.password,
        )
        return _signature(sig, valid=True)


@router.get("/consents/{consent_id}/signatures", response_model=list[SignatureRead])
def consent_signatures(consent_id: int, auth: AuthDep) -> list[SignatureRead]:
    """Signatures on a consent, each verified against the current content."""
    with auth.action() as ctx:
        consent = service.get_consent(ctx=ctx, consent_id=consent_id)
        return [
            _signature(sig, valid=ok)
            for sig, ok in service.consent_signatures(ctx=ctx, consent=consent)
        ]


def _signature(sig: object, *, valid: bool) -> SignatureRead:
    read = SignatureRead.model_validate(sig)
    return read.model_copy(update={"valid": valid, "statement": SIGNATURE_MEANINGS[read.meaning]})


@router.get("/patients/{patient_id}/care", response_model=list[CareRead])
def list_care(patient_id: int, auth: AuthDep) -> list[CareRead]:
    """The patient's prescribed respiratory care (recorded as prescribed; never changed here)."""
    with auth.action() as ctx:
        service.get_patient(ctx=ctx, patient_id=patient_id)
        return [
            CareRead.model_validate(c)
            for c in service.prescribed_care(ctx=ctx, patient_id=patient_id)
        ]


@router.post(
    "/patients/{patient_id}/care", response_model=CareRead, status_code=status.HTTP_201_CREATED
)
def add_care(patient_id: int, data: CareCreate, auth: AuthDep) -> CareRead:
    """Record one prescribed medicine."""
    with auth.action() as ctx:
        return CareRead.model_validate(service.add_care(ctx=ctx, patient_id=patient_id, data=data))


@router.post("/care/{care_id}/void", response_model=CareRead)
def void_care(care_id: int, data: VoidRequest, auth: AuthDep) -> CareRead:
    """Void a care entry recorded in error."""
    with auth.action() as ctx:
        return CareRead.model_validate(
            service.void_care(ctx=ctx, care_id=care_id, reason=data.reason)
        )


@router.get("/patients/{patient_id}/enrolments", response_model=list[EnrolmentRead])
def list_enrolments(patient_id: int, auth: AuthDep) -> list[EnrolmentRead]:
    """The patient's protocol enrolments."""
    with auth.action() as ctx:
        service.get_patient(ctx=ctx, patient_id=patient_id)
        return [
            EnrolmentRead.model_validate(e)
            for e in service.enrolments(ctx=ctx, patient_id=patient_id)
        ]


@router.post(
    "/patients/{patient_id}/enrolments",
    response_model=EnrolmentRead,
    status_code=status.HTTP_201_CREATED,
)
def enrol(patient_id: int, data: EnrolmentCreate, auth: AuthDep) -> EnrolmentRead:
    """Enrol the patient in a protocol arm under an IND/CTA and ethics approval."""
    with auth.action() as ctx:
        enrolment = service.enrol(
            ctx=ctx, settings=auth.state.settings, patient_id=patient_id, data=data
        )
        return EnrolmentRead.model_validate(enrolment)
