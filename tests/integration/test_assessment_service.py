"""Assessment (step 1) on both databases: records, decision, signature, amendment, session moves."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from exoneb.accounts.permissions import Role
from exoneb.assessment import service as assessment
from exoneb.assessment.models import Assessment, SpirometryEntry
from exoneb.assessment.schemas import (
    AmendIn,
    CareAnswerIn,
    CareIn,
    HistoryIn,
    OverrideIn,
    ScalesIn,
    SignIn,
    SpirometryIn,
    Versioned,
    VitalsIn,
)
from exoneb.core.audit import AuditEvent, verify_chain
from exoneb.core.errors import InvalidInput, RuleViolation, StaleEdit
from exoneb.patients import service as patients
from exoneb.sessions import service as sessions
from exoneb.sessions.rules import State

from .conftest import PASSWORD, World
from .factories import planned_session

#: History answers of a COPD patient who passes every default rule (clinical.md §5.2, §4.3).
HISTORY: dict[str, Any] = {
    "diagnosis": "copd",
    "diagnosis_confirmed": True,
    "dlco_percent_predicted": 60.0,
    "clinically_stable_4_weeks": True,
    "can_use_mouthpiece_or_mask": True,
    "can_perform_spirometry": True,
    "last_exacerbation_date": "2025-05-01",
    "last_respiratory_steroid_or_antibiotic_date": "none",
    "last_respiratory_hospitalisation_date": "none",
    "active_infection": False,
    "viral_test_required": False,
    "active_or_recent_malignancy": False,
    "pregnant_or_lactating": False,
    "hypersensitivity_to_product_components": False,
    "severe_allergy_or_multiple_allergies": False,
    "current_smoking_or_vaping": False,
    "last_mi_or_unstable_angina_date": "none",
    "uncontrolled_heart_failure": False,
    "significant_arrhythmia": False,
    "airway_hyperreactivity_to_saline": False,
    "long_term_immunosuppression": False,
    "transplant_recipient": False,
    "alt_x_uln": 0.8,
    "ast_x_uln": 0.9,
    "egfr_ml_min_1_73m2": 78.0,
    "last_other_investigational_product_date": "none",
    "other_investigational_product_within_5_half_lives": False,
    "able_to_consent_and_follow_schedule": True,
    "chronic_hypoxaemia_or_hypercapnia_documented": False,
}

CAT_DOMAINS = (
    "cough", "phlegm", "chest_tightness", "breathlessness",
    "activities", "confidence", "sleep", "energy",
)  # fmt: skip

VITALS: dict[str, Any] = {
    "spo2_percent": 95,
    "oxygen_source": "room_air",
    "heart_rate_bpm": 78,
    "respiratory_rate_per_min": 16,
    "systolic_bp_mmhg": 132,
    "diastolic_bp_mmhg": 82,
    "temperature_c": 36.8,
    "weight_kg": 60,
}


def started(world: World, mrn: str = "MRN-1") -> tuple[int, int]:
    """A planned session with a draft assessment: (session_id, assessment version)."""
    _, session_id = planned_session(world, mrn)
    with world.action(Role.NURSE) as ctx:
        return session_id, assessment.start(ctx=ctx, session_id=session_id).version


def _care_id(world: World, session_id: int) -> int:
    with world.action(Role.NURSE) as ctx:
        session = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
        return patients.prescribed_care(ctx=ctx, patient_id=session.patient_id)[0].id


def filled(world: World, mrn: str = "MRN-1", **history: Any) -> tuple[int, int]:
    """A draft with spirometry (pre and post-BD), vitals, scales, care and history recorded."""
    session_id, version = started(world, mrn)
    care_id = _care_id(world, session_id)
    with world.action(Role.NURSE) as ctx:
        sid = session_id
        for kind, fev1, fvc in (("pre", 1.30, 2.60), ("post_bd", 1.40, 2.70)):
            assessment.record_spirometry(
                ctx=ctx,
                session_id=sid,
                data=SpirometryIn(kind=kind, fev1_l=fev1, fvc_l=fvc, version=version),
            )
            version = assessment.current(ctx=ctx, session_id=sid).version  # type: ignore[union-attr]
        assessment.record_vitals(ctx=ctx, session_id=sid, data=VitalsIn(**VITALS, version=version))
        version = assessment.current(ctx=ctx, session_id=sid).version  # type: ignore[union-attr]
        assessment.record_scales(
            ctx=ctx,
            session_id=sid,
            data=ScalesIn(
                mmrc_grade=2,
                cat_items=dict.fromkeys(CAT_DOMAINS, 2),
                version=version,
            ),
        )
        version = assessment.current(ctx=ctx, session_id=sid).version  # type: ignore[union-attr]
        a2 = assessment.record_care(
            ctx=ctx,
            session_id=sid,
            data=CareIn(
                version=version,
                answers=[
                    CareAnswerIn(
                        care_id=care_id, taken_as_prescribed=True, last_changed_on=date(2025, 6, 1)
                    )
                ],
            ),
        )
        answers = {**HISTORY, **history}
        a2 = assessment.record_history(
            ctx=ctx, session_id=sid, data=HistoryIn(answers=answers, version=a2.version)
        )
        return session_id, a2.version


def decided(world: World, mrn: str = "MRN-1", **history: Any) -> tuple[int, Assessment]:
    session_id, version = filled(world, mrn, **history)
    with world.action(Role.NURSE) as ctx:
        a = assessment.decide(
            ctx=ctx, settings=world.settings, session_id=session_id, data=Versioned(version=version)
        )
        return session_id, a


def _move(world: World, session_id: int, target: State) -> str:
    with world.action(Role.NURSE) as ctx:
        s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
        return sessions.move(ctx=ctx, session_id=session_id, target=target, version=s.version).state


def _actions(world: World) -> list[str]:
    with world.factory() as db:
        return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_full_flow_cleared_signed_and_the_session_moves(world: World) -> None:
    session_id, a = decided(world)
    assert a.outcome == a.computed_outcome == "cleared", [
        (r["id"], r["outcome"])
        for r in a.decision["rules"]
        if r["outcome"] != "pass"  # type: ignore[index]
    ]
    assert a.rule_set_origin in {"protocol", "default"}
    assert a.rule_set_id
    with pytest.raises(RuleViolation):  # not signed yet: planned → assessed refused
        _move(world, session_id, State.ASSESSED)
    with world.action(Role.PHYSICIAN) as ctx:
        signed = assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )
        assert signed.status == "signed"
        assert signed.signed_by
        assert assessment.signature_ok(ctx=ctx, a=signed) is True
        assert assessment.baseline_fev1(ctx=ctx, session_id=session_id) == 1.30
    assert _move(world, session_id, State.ASSESSED) == "assessed"
    assert _move(world, session_id, State.CLEARED) == "cleared"
    acts = _actions(world)
    for name in (
        "assessment.create",
        "assessment.spirometry",
        "assessment.vitals",
        "assessment.scales",
        "assessment.care",
        "assessment.history",
        "assessment.decide",
        "record.sign",
        "assessment.sign",
    ):
        assert name in acts
    with world.factory() as db:
        assert verify_chain(db).ok


def test_stored_spirometry_keeps_equation_tables_inputs_and_interpretation(world: World) -> None:
    session_id, _ = filled(world)
    with world.action(Role.NURSE) as ctx:
        a = assessment.get(ctx=ctx, session_id=session_id)
        v = assessment.view(ctx=ctx, a=a)
    pre = v["spirometry"]["pre"]
    assert pre["equation"] == "gli-global"
    assert pre["table_version"]["files"]
    assert pre["inputs"]["fev1_l"] == 1.30
    assert pre["inputs"]["sex"] == "F"
    assert pre["results"]["fev1"]["z"] < -1.645
    assert pre["interpretation"]["obstruction"] is True
    assert v["baseline_fev1_l"] == 1.30


def test_every_mutation_writes_one_audit_row(world: World) -> None:
    session_id, version = started(world)
    with world.factory() as db:
        seq = db.scalar(select(func.max(AuditEvent.seq))) or 0
    with world.action(Role.NURSE) as ctx:
        assessment.record_vitals(
            ctx=ctx, session_id=session_id, data=VitalsIn(**VITALS, version=version)
        )
    with world.factory() as db:
        rows = list(db.scalars(select(AuditEvent.action).where(AuditEvent.seq > seq)))
    assert rows == ["assessment.vitals"]


def test_missing_data_needs_review_cannot_be_signed_nor_cleared(world: World) -> None:
    session_id, a = decided(world, pregnant_or_lactating=None, active_infection=None)
    assert a.outcome == "needs_review"
    missing = [r["id"] for r in a.decision["rules"] if r["outcome"] == "not_evaluable"]  # type: ignore[index]
    assert missing
    with pytest.raises(RuleViolation, match="needs review"), world.action(Role.PHYSICIAN) as ctx:
        assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )
    with pytest.raises(RuleViolation):
        _move(world, session_id, State.ASSESSED)


def test_ineligible_decision_leads_to_ineligible(world: World) -> None:
    session_id, a = decided(world, current_smoking_or_vaping=True)
    assert a.outcome == "ineligible"
    with world.action(Role.PHYSICIAN) as ctx:
        assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )
    assert _move(world, session_id, State.ASSESSED) == "assessed"
    with pytest.raises(RuleViolation):
        _move(world, session_id, State.CLEARED)
    assert _move(world, session_id, State.INELIGIBLE) == "ineligible"


def test_override_keeps_both_outcomes(world: World) -> None:
    session_id, a = decided(world, current_smoking_or_vaping=True)
    with world.action(Role.PHYSICIAN) as ctx:
        o = assessment.override(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=OverrideIn(
                outcome="cleared", reason="Stopped smoking last week; confirmed", version=a.version
            ),
        )
        assert (o.computed_outcome, o.outcome, o.override_outcome) == (
            "ineligible",
            "cleared",
            "cleared",
        )
        assert o.decision["computed_outcome"] == "ineligible"  # type: ignore[index]
        assert o.decision["override"]["reason"].startswith("Stopped smoking")  # type: ignore[index]
        assert o.override_by == "Physician One"
        assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=o.version),
        )
    assert "assessment.override" in _actions(world)
    assert _move(world, session_id, State.ASSESSED) == "assessed"
    assert _move(world, session_id, State.CLEARED) == "cleared"


def test_nurse_may_not_override_or_sign(world: World) -> None:
    from exoneb.core.errors import PermissionDenied

    session_id, a = decided(world, current_smoking_or_vaping=True)
    with pytest.raises(PermissionDenied), world.action(Role.NURSE) as ctx:
        assessment.override(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=OverrideIn(outcome="cleared", reason="because", version=a.version),
        )
    with pytest.raises(PermissionDenied), world.action(Role.NURSE) as ctx:
        assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )
    assert _actions(world)[-2:] == ["permission.denied", "permission.denied"]


def test_amendment_keeps_the_old_version(world: World) -> None:
    session_id, a = decided(world)
    with world.action(Role.PHYSICIAN) as ctx:
        signed = assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )
        new = assessment.amend(
            ctx=ctx,
            session_id=session_id,
            data=AmendIn(reason="FVC mistyped", version=signed.version),
        )
        assert (new.record_version, new.status, new.supersedes_id) == (2, "draft", signed.id)
        assert new.decision is None
    with world.factory() as db:
        old = db.get(Assessment, signed.id)
        assert old is not None
        assert old.status == "amended"
        assert old.outcome == "cleared"
        assert db.scalar(select(func.count()).where(SpirometryEntry.assessment_id == new.id)) == 2
    with world.action(Role.PHYSICIAN) as ctx:
        assert assessment.signature_ok(ctx=ctx, a=ctx.db.get(Assessment, signed.id)) is True  # type: ignore[arg-type]
    with pytest.raises(RuleViolation):  # the current version is not signed
        _move(world, session_id, State.ASSESSED)
    assert "assessment.amend" in _actions(world)


def test_stale_edit_is_a_409(world: World) -> None:
    session_id, version = started(world)
    with world.action(Role.NURSE) as ctx:
        assessment.record_vitals(
            ctx=ctx, session_id=session_id, data=VitalsIn(**VITALS, version=version)
        )
    with pytest.raises(StaleEdit), world.action(Role.PHYSICIAN) as ctx:
        assessment.record_vitals(
            ctx=ctx, session_id=session_id, data=VitalsIn(**VITALS, version=version)
        )


def test_implausible_values_and_unknown_questions_are_422_naming_the_field(world: World) -> None:
    session_id, version = started(world)
    with world.action(Role.NURSE) as ctx, pytest.raises(InvalidInput) as bad:
        assessment.record_vitals(
            ctx=ctx,
            session_id=session_id,
            data=VitalsIn(spo2_percent=20, oxygen_source="room_air", version=version),
        )
    assert bad.value.field == "spo2_percent"
    with world.action(Role.NURSE) as ctx, pytest.raises(InvalidInput) as bad:
        assessment.record_history(
            ctx=ctx, session_id=session_id, data=HistoryIn(answers={"fev1_l": 2.0}, version=version)
        )
    assert bad.value.field == "answers.fev1_l"


def test_care_stopped_for_this_therapy_is_flagged_for_review(world: World) -> None:
    session_id, version = filled(world)
    care_id = _care_id(world, session_id)
    with world.action(Role.NURSE) as ctx:
        a = assessment.record_care(
            ctx=ctx,
            session_id=session_id,
            data=CareIn(
                version=version,
                answers=[
                    CareAnswerIn(
                        care_id=care_id,
                        taken_as_prescribed=False,
                        stopped_for_this_therapy=True,
                        last_changed_on=date(2025, 6, 1),
                    )
                ],
            ),
        )
        a = assessment.decide(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=Versioned(version=a.version),
        )
    assert a.outcome == "needs_review"
    codes = [f["code"] for f in a.decision["flags"]]  # type: ignore[index]
    assert "care-stopped-for-this-therapy" in codes
    assert "physician" in a.care_check["flags"][0]["message"]  # type: ignore[index]


def test_six_minute_walk_is_scored_against_its_reference(world: World) -> None:
    session_id, version = started(world)
    with world.action(Role.NURSE) as ctx:
        entry = assessment.record_scales(
            ctx=ctx,
            session_id=session_id,
            data=ScalesIn(
                walk={
                    "distance_m": 300,
                    "spo2_nadir_percent": 88,
                    "borg_before": 1,
                    "borg_after": 4,
                },
                mmrc_grade=1,
                version=version,
            ),
        )
        assert entry.walk_distance_m == 300
        assert entry.walk is not None
        assert entry.walk["reference"]["lln_m"] > 0
        assert entry.walk_below_lln is (entry.walk["reference"]["lln_m"] > 300)
        assert entry.mmrc is not None
        assert entry.mmrc["version"] == "mMRC 0-4"


def test_a_protocol_without_eligibility_rules_uses_the_default_set_and_says_so() -> None:
    from exoneb.core.config import Settings

    settings = Settings(environment="test", database_url="sqlite://")
    rules, origin = assessment.rule_set_for(settings, "no-such-protocol")
    assert origin == "default"
    assert rules.id == "exoneb-default-eligibility"


def test_amended_after_assessed_blocks_clearing_until_signed_again(world: World) -> None:
    session_id, a = decided(world)
    with world.action(Role.PHYSICIAN) as ctx:
        signed = assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )
    assert _move(world, session_id, State.ASSESSED) == "assessed"
    with world.action(Role.PHYSICIAN) as ctx:
        new = assessment.amend(
            ctx=ctx,
            session_id=session_id,
            data=AmendIn(reason="SpO2 re-measured", version=signed.version),
        )
        assert assessment.baseline_fev1(ctx=ctx, session_id=session_id) is None
    with pytest.raises(RuleViolation, match="not signed"):
        _move(world, session_id, State.CLEARED)
    with world.action(Role.PHYSICIAN) as ctx:
        again = assessment.decide(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=Versioned(version=new.version),
        )
        assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=again.version),
        )
        assert assessment.baseline_fev1(ctx=ctx, session_id=session_id) == 1.30
    assert _move(world, session_id, State.CLEARED) == "cleared"
