"""Builders for patients, consent, enrolment and sessions used across integration tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from exoneb.accounts.permissions import Role
from exoneb.patients import service as patients
from exoneb.patients.schemas import CareCreate, ConsentCreate, EnrolmentCreate, PatientCreate
from exoneb.sessions import service as sessions
from exoneb.sessions.schemas import SessionPlan

from .conftest import World


def patient_data(mrn: str = "MRN-1", **overrides: object) -> PatientCreate:
    """A valid registration."""
    values: dict[str, object] = {
        "mrn": mrn,
        "family_name": "Doe",
        "given_name": "Jane",
        "birth_date": date(1961, 2, 3),
        "sex": "female",
        "height_cm": 165,
        "weight_kg": 60,
    }
    values.update(overrides)
    return PatientCreate.model_validate(values)


def enrolment_data(**overrides: object) -> EnrolmentCreate:
    """A valid enrolment in the demo protocol."""
    values: dict[str, object] = {
        "protocol_id": "demo-exo-01",
        "arm_code": "DL1",
        "authorisation_kind": "IND",
        "authorisation_number": "IND-123456",
        "ethics_approval": "EC-2026-01",
    }
    values.update(overrides)
    return EnrolmentCreate.model_validate(values)


def ready_patient(world: World, mrn: str = "MRN-1", **enrolment: object) -> tuple[int, int]:
    """A patient with consent, prescribed care and an enrolment: (patient_id, enrolment_id)."""
    with world.action(Role.PHYSICIAN) as ctx:
        patient = patients.create_patient(ctx=ctx, data=patient_data(mrn))
        patients.add_care(
            ctx=ctx,
            patient_id=patient.id,
            data=CareCreate(
                medicine="Tiotropium",
                dose="18 µg",
                route="inhaled",
                frequency="once daily",
                prescriber="Dr. Own",
            ),
        )
        patients.record_consent(
            ctx=ctx,
            patient_id=patient.id,
            data=ConsentCreate(document_version="ICF 1.0", consent_date=date(2026, 1, 2)),
        )
        enrolment = patients.enrol(
            ctx=ctx,
            settings=world.settings,
            patient_id=patient.id,
            data=enrolment_data(**enrolment),
        )
        return patient.id, enrolment.id


def planned_session(world: World, mrn: str = "MRN-1", **enrolment: object) -> tuple[int, int]:
    """A planned session (``enrolment`` overrides the enrolment): (patient_id, session_id)."""
    patient_id, enrolment_id = ready_patient(world, mrn, **enrolment)
    with world.action(Role.NURSE) as ctx:
        session = sessions.plan_session(
            ctx=ctx,
            patient_id=patient_id,
            data=SessionPlan(
                enrolment_id=enrolment_id, planned_for=datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
            ),
        )
        return patient_id, session.id
