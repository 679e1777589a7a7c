"""Patients, consent, prescribed care and enrolment through the service layer."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent
from exoneb.core.errors import (
    DuplicateRecord,
    InvalidInput,
    NotFound,
    RuleViolation,
    StaleEdit,
)
from exoneb.patients import service as patients
from exoneb.patients.schemas import ConsentAmend, ConsentCreate, PatientUpdate

from .conftest import PASSWORD, World
from .factories import enrolment_data, patient_data, ready_patient


def _audit(world: World, **where: object) -> list[AuditEvent]:
    with world.factory() as db:
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, key) == value)
        return list(db.scalars(stmt))


def _update(world: World, role: Role, patient_id: int, version: int, **changes: object) -> None:
    data = patient_data().model_dump(exclude={"mrn"}) | changes
    with world.action(role) as ctx:
        patients.update_patient(
            ctx=ctx, patient_id=patient_id, data=PatientUpdate(**data, version=version)
        )


def test_duplicate_mrn_at_the_same_site_is_refused(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patients.create_patient(ctx=ctx, data=patient_data("A-1"))
    with pytest.raises(DuplicateRecord, match="already registered"), world.action(Role.NURSE) as c:
        patients.create_patient(ctx=c, data=patient_data("A-1", given_name="Other"))
    assert len(_audit(world, action="patient.create")) == 1


def test_same_mrn_at_another_site_is_a_different_patient(world: World) -> None:
    with world.action() as ctx:
        other = accounts.create_site(ctx=ctx, code="S2", name="Site two", time_zone="UTC")
        nurse2 = accounts.create_user(
            ctx=ctx,
            settings=world.settings,
            username="nurse2",
            full_name="Nurse Two",
            role="nurse",
            site_id=other.id,
            password=PASSWORD,
        )
    with world.action(Role.NURSE) as ctx:
        first = patients.create_patient(ctx=ctx, data=patient_data("A-1"))
    with world.action(actor=accounts.actor_for(nurse2)) as ctx:
        patients.create_patient(ctx=ctx, data=patient_data("A-1"))
        # A patient of another site is invisible, not forbidden (ids cannot be probed).
        with pytest.raises(NotFound):
            patients.get_patient(ctx=ctx, patient_id=first.id)


def test_stale_edit_names_who_changed_the_record_and_when(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patient_id = patients.create_patient(ctx=ctx, data=patient_data()).id
    world.clock.advance(timedelta(minutes=7))
    _update(world, Role.PHYSICIAN, patient_id, 1, weight_kg=61)
    with pytest.raises(StaleEdit) as err:
        _update(world, Role.NURSE, patient_id, 1, weight_kg=59)
    assert "Physician One" in err.value.message
    assert "2026-01-05 08:07 UTC" in err.value.message
    assert err.value.version == 2
    with world.action(Role.NURSE) as ctx:
        assert patients.get_patient(ctx=ctx, patient_id=patient_id).weight_kg == 61


def test_update_audits_before_and_after(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patient_id = patients.create_patient(ctx=ctx, data=patient_data()).id
    _update(world, Role.NURSE, patient_id, 1, weight_kg=58.5)
    (row,) = _audit(world, action="patient.update")
    assert json.loads(row.before or "")["weight_kg"] == 60
    assert json.loads(row.after or "")["weight_kg"] == 58.5
    assert row.entity_version == 2


def test_voided_patient_stays_visible_and_frozen(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patient_id = patients.create_patient(ctx=ctx, data=patient_data()).id
    with world.action(Role.PHYSICIAN) as ctx:
        patients.void_patient(ctx=ctx, patient_id=patient_id, reason="duplicate", version=1)
    with world.action(Role.NURSE) as ctx:
        patient = patients.get_patient(ctx=ctx, patient_id=patient_id)
        assert patient.status == "voided"
        assert patient.void_reason == "duplicate"
        with pytest.raises(RuleViolation, match="voided"):
            patients.record_consent(
                ctx=ctx,
                patient_id=patient_id,
                data=ConsentCreate(document_version="1", consent_date=date(2026, 1, 1)),
            )
    assert _audit(world, action="patient.void")[0].reason == "duplicate"


def test_reading_a_record_is_audited(world: World) -> None:
    patient_id, _ = ready_patient(world)
    with world.action(Role.AUDITOR) as ctx:
        patients.get_patient(ctx=ctx, patient_id=patient_id)
    reads = _audit(world, action="patient.read", patient_id=patient_id)
    assert [r.actor_username for r in reads] == ["auditor1"]


def test_search_by_name_or_mrn(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patients.create_patient(ctx=ctx, data=patient_data("ZZ-9", family_name="Quill"))
        patients.create_patient(ctx=ctx, data=patient_data("AB-1", family_name="Brown"))
        assert [p.mrn for p in patients.search_patients(ctx=ctx, query="quil")] == ["ZZ-9"]
        assert [p.family_name for p in patients.search_patients(ctx=ctx, query="ab-")] == ["Brown"]
        assert len(patients.search_patients(ctx=ctx, query="jane doe")) == 0
        assert len(patients.search_patients(ctx=ctx, query="jane brown")) == 1


def test_consent_cannot_be_dated_in_the_future(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patient_id = patients.create_patient(ctx=ctx, data=patient_data()).id
    data = ConsentCreate.model_construct(document_version="1", consent_date=date(2026, 1, 6))
    with pytest.raises(InvalidInput) as err, world.action(Role.NURSE) as ctx:
        patients.record_consent(ctx=ctx, patient_id=patient_id, data=data)
    assert err.value.field == "consent_date"


def test_enrolment_checks_protocol_arm_and_authorisation(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patient_id = patients.create_patient(ctx=ctx, data=patient_data()).id
    cases = [
        (enrolment_data(protocol_id="nope"), "protocol_id"),
        (enrolment_data(arm_code="DL9"), "arm_code"),
        (enrolment_data(authorisation_valid_until=date(2026, 1, 4)), "authorisation_valid_until"),
    ]
    for data, field in cases:
        with pytest.raises(InvalidInput) as err, world.action(Role.COORDINATOR) as ctx:
            patients.enrol(ctx=ctx, settings=world.settings, patient_id=patient_id, data=data)
        assert err.value.field == field
    with world.action(Role.COORDINATOR) as ctx:
        enrolment = patients.enrol(
            ctx=ctx, settings=world.settings, patient_id=patient_id, data=enrolment_data()
        )
        assert enrolment.protocol_version == "1.0"
    with pytest.raises(DuplicateRecord), world.action(Role.COORDINATOR) as ctx:
        patients.enrol(
            ctx=ctx, settings=world.settings, patient_id=patient_id, data=enrolment_data()
        )


def test_every_mutation_writes_exactly_one_audit_row(world: World) -> None:
    before = len(_audit(world))
    patient_id, _ = ready_patient(world)  # create, care, consent, enrol: 4 mutations
    actions = [r.action for r in _audit(world)[before:]]
    assert actions == ["patient.create", "care.create", "consent.create", "enrolment.create"]
    with world.action(Role.NURSE) as ctx:
        care = patients.prescribed_care(ctx=ctx, patient_id=patient_id)[0]
        patients.void_care(ctx=ctx, care_id=care.id, reason="wrong medicine entered")
        consent = patients.current_consent(ctx=ctx, patient_id=patient_id)
        assert consent is not None
        patients.withdraw_consent(ctx=ctx, consent_id=consent.id, reason="patient withdrew")
    actions = [r.action for r in _audit(world)[before + 4 :]]
    assert actions == ["care.void", "consent.withdraw"]
    with world.action(Role.NURSE) as ctx:
        assert patients.current_consent(ctx=ctx, patient_id=patient_id) is None
        assert [c.status for c in patients.prescribed_care(ctx=ctx, patient_id=patient_id)] == [
            "voided"
        ]


def test_signature_binds_to_content(world: World) -> None:
    patient_id, _ = ready_patient(world)
    with world.action(Role.NURSE) as ctx:
        consent = patients.current_consent(ctx=ctx, patient_id=patient_id)
        assert consent is not None
        with pytest.raises(InvalidInput, match="password"):
            patients.sign_consent(
                ctx=ctx,
                settings=world.settings,
                consent_id=consent.id,
                meaning="verified",
                password="wrong password!",
            )
        sig = patients.sign_consent(
            ctx=ctx,
            settings=world.settings,
            consent_id=consent.id,
            meaning="verified",
            password=PASSWORD,
        )
        assert sig.signer_name == "Nurse One"
        assert sig.record_version == consent.version
        [(stored, valid)] = patients.consent_signatures(ctx=ctx, consent=consent)
        assert valid
        assert stored.meaning == "verified"
        # Someone edits the signed content behind exoneb's back: verification must fail.
        consent.document_version = "ICF 9.9"
        [(_, valid)] = patients.consent_signatures(ctx=ctx, consent=consent)
        assert not valid
        consent.document_version = "ICF 1.0"
        with pytest.raises(InvalidInput, match="meaning"):
            patients.sign_consent(
                ctx=ctx,
                settings=world.settings,
                consent_id=consent.id,
                meaning="liked",
                password=PASSWORD,
            )
    (row,) = _audit(world, action="record.sign")
    assert json.loads(row.after or "")["statement"] == "I independently verified this record."


def test_signed_consent_is_corrected_only_by_amendment(world: World) -> None:
    patient_id, _ = ready_patient(world)
    with world.action(Role.NURSE) as ctx:
        old = patients.current_consent(ctx=ctx, patient_id=patient_id)
        assert old is not None
        patients.sign_consent(
            ctx=ctx,
            settings=world.settings,
            consent_id=old.id,
            meaning="performed",
            password=PASSWORD,
        )
    amendment = ConsentAmend(
        document_version="ICF 1.1",
        consent_date=date(2026, 1, 2),
        reason="wrong document version entered",
    )
    with world.action(Role.PHYSICIAN) as ctx:
        new = patients.amend_consent(ctx=ctx, consent_id=old.id, data=amendment)
    with world.action(Role.NURSE) as ctx:
        current = patients.current_consent(ctx=ctx, patient_id=patient_id)
        assert current is not None
        assert current.id == new.id
        assert current.supersedes_id == old.id
        assert current.amended_by == "Physician One"
        history = patients.consents(ctx=ctx, patient_id=patient_id)
        assert {c.id: c.status for c in history} == {old.id: "superseded", new.id: "active"}
        kept = next(c for c in history if c.id == old.id)
        assert kept.document_version == "ICF 1.0"  # the signed content is untouched
        [(_, still_valid)] = patients.consent_signatures(ctx=ctx, consent=kept)
        assert still_valid
        assert patients.consent_signatures(ctx=ctx, consent=current) == []
    with pytest.raises(RuleViolation, match="superseded"), world.action(Role.NURSE) as ctx:
        patients.amend_consent(ctx=ctx, consent_id=old.id, data=amendment)
    (row,) = _audit(world, action="consent.amend")
    assert row.reason == "wrong document version entered"
    assert json.loads(row.before or "")["document_version"] == "ICF 1.0"
