"""The cumulative estimated lung and alveolar dose across a patient's sessions."""

from __future__ import annotations

from functools import cache

import pytest

from exoneb.inhalation.rules import (
    EXOSOME_INHALATION,
    SALINE_NEBULIZATION,
    STANDARD_INHALED_CARE,
    DoseEstimate,
    EstimateStage,
    InvalidInput,
    RecordedEstimate,
    Regimen,
    cumulative_dose,
    estimate_dose,
)

from .factories import MEASURED, MESH, PATIENT


@cache
def session(regimen: Regimen = EXOSOME_INHALATION, dose: float = 8e8) -> DoseEstimate:
    return estimate_dose(
        stage=EstimateStage.FINAL,
        patient=PATIENT,
        breathing=MEASURED,
        device=MESH,
        fill_ml=3.0,
        regimen=regimen,
        loaded_dose=dose,
        residual_ml=0.12,
    )


def test_sums_lung_and_alveolar_particles_and_skips_voided_records() -> None:
    a, b, voided = session(dose=8e8), session(dose=2e9), session(dose=5e9)
    total = cumulative_dose(
        [RecordedEstimate(a), RecordedEstimate(b), RecordedEstimate(voided, voided=True)]
    )
    assert total.lung_particles == pytest.approx((a.lung_particles or 0) + (b.lung_particles or 0))
    assert total.alveolar_particles == pytest.approx(
        (a.alveolar_particles or 0) + (b.alveolar_particles or 0)
    )
    assert total.lung_intact_particles == pytest.approx(
        (a.lung_intact_particles or 0) + (b.lung_intact_particles or 0)
    )
    assert (total.sessions_counted, total.sessions_voided) == (2, 1)
    assert total.model_versions == (a.model_version,)
    assert total.lung_particles > 0


def test_saline_adds_zero_and_drug_sessions_are_not_added_to_vesicles() -> None:
    exo = session()
    total = cumulative_dose(
        [
            RecordedEstimate(exo),
            RecordedEstimate(session(SALINE_NEBULIZATION, 0.0)),
            RecordedEstimate(session(STANDARD_INHALED_CARE, 2.5)),
        ]
    )
    assert total.lung_particles == exo.lung_particles
    assert total.lung_intact_particles == exo.lung_intact_particles
    assert (total.sessions_counted, total.sessions_other_units) == (2, 1)


def test_no_sessions_is_zero_and_previews_are_refused() -> None:
    empty = cumulative_dose([])
    assert (empty.lung_particles, empty.alveolar_particles, empty.sessions_counted) == (0.0, 0.0, 0)
    preview = estimate_dose(
        stage=EstimateStage.PREVIEW,
        patient=PATIENT,
        breathing=MEASURED,
        device=MESH,
        fill_ml=3.0,
        regimen=EXOSOME_INHALATION,
        loaded_dose=8e8,
    )
    with pytest.raises(InvalidInput, match="preview"):
        cumulative_dose([RecordedEstimate(preview)])


def test_estimates_read_back_from_storage_sum_the_same() -> None:
    stored = [DoseEstimate.from_dict(session(dose=d).to_dict()) for d in (8e8, 2e9)]
    fresh = [session(dose=d) for d in (8e8, 2e9)]
    assert cumulative_dose(RecordedEstimate(e) for e in stored) == cumulative_dose(
        RecordedEstimate(e) for e in fresh
    )
    assert "statement" in cumulative_dose([]).to_dict()
