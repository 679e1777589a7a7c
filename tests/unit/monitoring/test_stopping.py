"""Stopping rules (reference/clinical.md §4.5 candidate DLTs and stopping rules; §4.2 airway)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exoneb.monitoring.adverse_events import (
    AdverseEvent,
    Causality,
    CtcaeTerm,
    SeriousnessCriterion,
)
from exoneb.monitoring.stopping import (
    STOPPING_RULE_IDS,
    AirwayReading,
    SessionFever,
    StoppingFacts,
    StoppingParameters,
    airway_readings,
    evaluate_stopping_rules,
)

from .factories import BASELINE, T0, at, man

LATER = T0 + timedelta(hours=2)


def ae(
    term: CtcaeTerm, grade: int, causality: Causality = Causality.POSSIBLE, **kwargs: object
) -> AdverseEvent:
    return AdverseEvent(term=term, grade=grade, onset_at=T0, causality=causality, **kwargs)  # type: ignore[arg-type]


def rules(facts: StoppingFacts, now: object = LATER, **params: object) -> list[str]:
    decision = evaluate_stopping_rules(facts, now, StoppingParameters(**params))  # type: ignore[arg-type]
    assert decision.hold_patient is bool(decision.reasons)
    return [r.rule_id for r in decision.reasons]


def test_nothing_triggers_on_a_quiet_course() -> None:
    facts = StoppingFacts(
        adverse_events=[ae(CtcaeTerm.COUGH, 1), ae(CtcaeTerm.SORE_THROAT, 2)],
        airway_readings=[AirwayReading(at(minutes=15), 5.0)],
        fevers=[SessionFever("s1", 37.2)],
    )
    decision = evaluate_stopping_rules(facts, LATER)
    assert not decision.hold_patient
    assert not decision.pause_cohort
    assert decision.reasons == ()


@pytest.mark.parametrize(
    ("grade", "causality", "triggers"),
    [
        (3, Causality.POSSIBLE, True),
        (3, Causality.DEFINITE, True),
        (2, Causality.DEFINITE, False),
        (3, Causality.UNLIKELY, False),
    ],
)
def test_related_grade_3(grade: int, causality: Causality, triggers: bool) -> None:
    facts = StoppingFacts(adverse_events=[ae(CtcaeTerm.COUGH, grade, causality)])
    assert ("related_grade3" in rules(facts)) is triggers


@pytest.mark.parametrize(("grade", "triggers"), [(1, False), (2, True), (3, True)])
def test_allergic_reaction_grade_2(grade: int, triggers: bool) -> None:
    facts = StoppingFacts(
        adverse_events=[ae(CtcaeTerm.ALLERGIC_REACTION, grade, Causality.UNLIKELY)]
    )
    assert ("allergic_reaction_grade2" in rules(facts)) is triggers


def test_any_anaphylaxis_whatever_the_causality() -> None:
    facts = StoppingFacts(adverse_events=[ae(CtcaeTerm.ANAPHYLAXIS, 3, Causality.UNRELATED)])
    assert rules(facts) == ["anaphylaxis"]


@pytest.mark.parametrize(
    ("baseline", "grade", "triggers"), [(0, 2, True), (2, 2, False), (2, 3, True), (0, 3, True)]
)
def test_hypoxia_grade_2_new_versus_baseline(baseline: int, grade: int, triggers: bool) -> None:
    facts = StoppingFacts(
        adverse_events=[ae(CtcaeTerm.HYPOXIA, grade, Causality.UNRELATED)],
        baseline_hypoxia_grade=baseline,
    )
    assert ("hypoxia_grade2_new" in rules(facts)) is triggers


@pytest.mark.parametrize(
    ("fevers", "triggers"),
    [
        ([SessionFever("s1", 38.0), SessionFever("s2", 38.4)], True),
        ([SessionFever("s1", 38.0), SessionFever("s2", 37.9)], False),
        ([SessionFever("s1", 38.5), SessionFever("s2", 38.5, other_cause=True)], False),
        ([SessionFever("s1", 38.5), SessionFever("s2", None)], False),
    ],
)
def test_fever_on_two_sessions(fevers: list[SessionFever], triggers: bool) -> None:
    assert ("fever_two_sessions" in rules(StoppingFacts(fevers=fevers))) is triggers


def test_related_sae_pauses_the_cohort() -> None:
    serious = ae(
        CtcaeTerm.DYSPNEA,
        3,
        Causality.PROBABLE,
        seriousness=frozenset({SeriousnessCriterion.HOSPITALIZATION}),
    )
    decision = evaluate_stopping_rules(StoppingFacts(adverse_events=[serious]), LATER)
    assert [r.rule_id for r in decision.reasons] == ["related_grade3", "related_sae"]
    assert decision.hold_patient
    assert decision.pause_cohort
    assert [r.pause_cohort for r in decision.reasons] == [False, True]
    assert "DMC" in decision.reasons[1].message


def test_unrelated_sae_holds_nothing_by_itself() -> None:
    serious = ae(
        CtcaeTerm.NAUSEA,
        2,
        Causality.UNRELATED,
        seriousness=frozenset({SeriousnessCriterion.HOSPITALIZATION}),
    )
    assert rules(StoppingFacts(adverse_events=[serious])) == []


def test_the_protocol_decides_which_rules_pause_the_cohort() -> None:
    facts = StoppingFacts(adverse_events=[ae(CtcaeTerm.ANAPHYLAXIS, 3)])
    default = evaluate_stopping_rules(facts, LATER)
    assert default.hold_patient
    assert not default.pause_cohort
    strict = evaluate_stopping_rules(
        facts, LATER, StoppingParameters(pause_cohort_rules=frozenset({"anaphylaxis"}))
    )
    assert strict.pause_cohort
    with pytest.raises(ValueError, match="unknown"):
        StoppingParameters(pause_cohort_rules=frozenset({"no_such_rule"}))


# --- FEV1 (§4.2: ≥ 20 % stops the course; §4.5: not reversed by SABA in 30 min = DLT) ---


def fev1_facts(*falls: tuple[float, float], saba_min: float | None = 16) -> StoppingFacts:
    return StoppingFacts(
        airway_readings=[AirwayReading(at(minutes=m), f) for m, f in falls],
        saba_given_at=None if saba_min is None else at(minutes=saba_min),
    )


@pytest.mark.parametrize(("fall", "triggers"), [(20.0, True), (19.9, False)])
def test_fev1_fall_20_holds_the_course(fall: float, triggers: bool) -> None:
    assert ("fev1_fall_20" in rules(fev1_facts((15, fall)))) is triggers


def test_fev1_fall_20_reversed_by_saba_holds_but_is_not_a_dlt() -> None:
    decision = evaluate_stopping_rules(fev1_facts((15, 24.0), (40, 10.0)), LATER)
    (reason,) = decision.reasons
    assert reason.rule_id == "fev1_fall_20"
    assert not reason.dlt_candidate
    assert decision.hold_patient


def test_fev1_fall_20_unresolved_30_min_after_saba_is_a_dlt_candidate() -> None:
    # Recovery at 47 min is 31 min after SABA (16 min): too late.
    decision = evaluate_stopping_rules(fev1_facts((15, 24.0), (47, 8.0)), LATER)
    (reason,) = decision.reasons
    assert reason.dlt_candidate
    assert "not back to" in reason.message


def test_fev1_fall_20_is_pending_while_the_recovery_window_is_open() -> None:
    decision = evaluate_stopping_rules(fev1_facts((15, 24.0)), at(minutes=40))
    assert decision.hold_patient  # held meanwhile: missing recovery is never a pass
    assert not decision.reasons[0].dlt_candidate
    assert decision.pending
    assert "fev1_fall_20" in decision.pending[0]


def test_without_saba_the_window_runs_from_the_fall() -> None:
    decision = evaluate_stopping_rules(fev1_facts((15, 22.0), (50, 5.0), saba_min=None), LATER)
    assert decision.reasons[0].dlt_candidate  # 35 min after the fall


@pytest.mark.parametrize(("recovered_fall", "triggers"), [(10.0, False), (10.5, True)])
def test_smaller_fall_not_reversed_by_saba(recovered_fall: float, triggers: bool) -> None:
    facts = fev1_facts((15, 14.0), (40, recovered_fall))
    assert ("airway_fall_not_reversed" in rules(facts)) is triggers


def test_smaller_fall_is_pending_before_the_window_closes() -> None:
    decision = evaluate_stopping_rules(fev1_facts((15, 14.0)), at(minutes=30))
    assert decision.reasons == ()
    assert decision.pending


def test_reasons_come_in_rule_order_with_sources() -> None:
    facts = StoppingFacts(
        adverse_events=[ae(CtcaeTerm.ANAPHYLAXIS, 4, Causality.DEFINITE)],
        airway_readings=[AirwayReading(at(minutes=15), 30.0)],
    )
    decision = evaluate_stopping_rules(facts, LATER)
    found = [r.rule_id for r in decision.reasons]
    assert found == sorted(found, key=STOPPING_RULE_IDS.index)
    assert all("clinical.md §4" in r.source for r in decision.reasons)


def test_airway_readings_come_from_the_same_fall_computation_as_the_alerts() -> None:
    obs = [man(20, fev1_l=1.5), man(5, pef_l_per_min=300.0), man(10, spo2_pct=95.0)]
    readings = airway_readings(obs, BASELINE)
    assert [(r.at, round(r.fall_pct, 6)) for r in readings] == [
        (at(minutes=5), 25.0),  # PEF 300 of 400 when no FEV1
        (at(minutes=20), 25.0),  # FEV1 1.5 of 2.0
    ]
    decision = evaluate_stopping_rules(StoppingFacts(airway_readings=readings), LATER)
    assert [r.rule_id for r in decision.reasons] == ["fev1_fall_20"]
