"""The facts an eligibility rule may ask for: name, type, unit and wording.

Rules are data (:mod:`exoneb.assessment.eligibility`), so a misspelt fact name in
a protocol file would otherwise make its rule silently "not evaluable" for every
patient. Loading a rule set therefore checks every fact it names against this
catalog, and checks that the comparison suits the fact's type (no ``>=`` on a
yes/no fact). A protocol that needs a new fact passes an extended catalog.

Date facts describe when something last happened; the text ``"none"``
(:data:`NONE_OCCURRED`) records that it was asked and has not happened, which is
different from not having been asked (a missing fact).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["FACT_CATALOG", "NONE_OCCURRED", "FactSpec", "FactType"]

#: Value of a date fact meaning "asked, and it has not happened".
NONE_OCCURRED = "none"


class FactType(StrEnum):
    """The kind of value a fact holds."""

    NUMBER = "number"
    BOOLEAN = "boolean"
    TEXT = "text"
    DATE = "date"


@dataclass(frozen=True)
class FactSpec:
    """What a fact is.

    Attributes
    ----------
    type : FactType
        Kind of value.
    label : str
        Wording shown to staff.
    unit : str
        Unit of a number ("" otherwise).
    choices : tuple of str
        Allowed values of a text fact (empty: any text).
    """

    type: FactType
    label: str
    unit: str = ""
    choices: tuple[str, ...] = ()


_N, _B, _T, _D = FactType.NUMBER, FactType.BOOLEAN, FactType.TEXT, FactType.DATE


def _spirometry(prefix: str, when: str) -> dict[str, FactSpec]:
    """Facts from one scored spirometry test (see :func:`facts.spirometry_facts`)."""
    return {
        f"{prefix}fev1_l": FactSpec(_N, f"FEV1 ({when})", "L"),
        f"{prefix}fev1_percent_predicted": FactSpec(_N, f"FEV1 % predicted ({when})", "%"),
        f"{prefix}fev1_z": FactSpec(_N, f"FEV1 z-score ({when})"),
        f"{prefix}fvc_l": FactSpec(_N, f"FVC ({when})", "L"),
        f"{prefix}fvc_percent_predicted": FactSpec(_N, f"FVC % predicted ({when})", "%"),
        f"{prefix}fvc_z": FactSpec(_N, f"FVC z-score ({when})"),
        f"{prefix}fev1_fvc_ratio": FactSpec(_N, f"FEV1/FVC ratio ({when})", "fraction"),
        f"{prefix}fev1_fvc_z": FactSpec(_N, f"FEV1/FVC z-score ({when})"),
    }


#: Every fact the default rules and the fact builders use.
FACT_CATALOG: dict[str, FactSpec] = {
    # person and diagnosis
    "assessment_date": FactSpec(_D, "Date of this assessment"),
    "age_years": FactSpec(_N, "Age", "years"),
    "diagnosis": FactSpec(
        _T,
        "Respiratory diagnosis",
        choices=("copd", "ipf", "ild", "asthma", "bronchiectasis", "other"),
    ),
    "diagnosis_confirmed": FactSpec(_B, "Diagnosis confirmed (spirometry, imaging as required)"),
    "dlco_percent_predicted": FactSpec(_N, "DLCO % predicted (Hb-corrected)", "%"),
    # vitals
    "spo2_percent": FactSpec(_N, "Resting SpO2 on usual inspired oxygen", "%"),
    "on_supplemental_oxygen": FactSpec(_B, "On supplemental oxygen during the SpO2 reading"),
    "chronic_hypoxaemia_or_hypercapnia_documented": FactSpec(
        _B, "Documented chronic hypoxaemia or hypercapnia with a clinician-set SpO2 target"
    ),
    "heart_rate_bpm": FactSpec(_N, "Resting heart rate", "/min"),
    "respiratory_rate_per_min": FactSpec(_N, "Respiratory rate", "/min"),
    "systolic_bp_mmhg": FactSpec(_N, "Systolic blood pressure", "mmHg"),
    "diastolic_bp_mmhg": FactSpec(_N, "Diastolic blood pressure", "mmHg"),
    "temperature_c": FactSpec(_N, "Temperature", "°C"),
    "weight_kg": FactSpec(_N, "Weight", "kg"),
    "bmi": FactSpec(_N, "Body-mass index", "kg/m²"),
    # spirometry
    **_spirometry("", "pre-session"),
    **_spirometry("post_bd_", "post-bronchodilator"),
    # scales
    "cat_total": FactSpec(_N, "CAT total", "points"),
    "mmrc_grade": FactSpec(_N, "mMRC dyspnoea grade", "0–4"),
    "six_minute_walk_m": FactSpec(_N, "Six-minute walk distance", "m"),
    # stability and history (dates: when it last happened, or "none")
    "clinically_stable_4_weeks": FactSpec(_B, "Clinically stable for at least 4 weeks"),
    "prescribed_care_last_changed": FactSpec(_D, "Last change to prescribed respiratory care"),
    "last_exacerbation_date": FactSpec(_D, "Last exacerbation"),
    "last_respiratory_steroid_or_antibiotic_date": FactSpec(
        _D, "Last systemic steroids or antibiotics for a respiratory cause"
    ),
    "last_respiratory_hospitalisation_date": FactSpec(_D, "Last hospitalisation (respiratory)"),
    "last_mi_or_unstable_angina_date": FactSpec(_D, "Last myocardial infarction/unstable angina"),
    "last_other_investigational_product_date": FactSpec(
        _D, "Last dose of another investigational product"
    ),
    "other_investigational_product_within_5_half_lives": FactSpec(
        _B, "Another investigational product within 5 half-lives"
    ),
    # abilities, consent, authorisation
    "can_use_mouthpiece_or_mask": FactSpec(_B, "Able to use a mouthpiece or mask"),
    "can_perform_spirometry": FactSpec(_B, "Able to perform spirometry"),
    "able_to_consent_and_follow_schedule": FactSpec(
        _B, "Able to consent and to follow the visit schedule"
    ),
    "consent_current": FactSpec(_B, "Written informed consent of the current version"),
    "protocol_authorised": FactSpec(_B, "Enrolled under an authorised protocol (IND/CTA, ethics)"),
    # exclusions
    "active_infection": FactSpec(_B, "Active respiratory or systemic infection"),
    "viral_test_required": FactSpec(_B, "COVID/influenza test required by the protocol"),
    "viral_test_positive": FactSpec(_B, "COVID/influenza test positive"),
    "active_or_recent_malignancy": FactSpec(
        _B, "Active malignancy, malignancy within 5 years, lung cancer or obstructive lesion"
    ),
    "pregnant_or_lactating": FactSpec(_B, "Pregnant or lactating"),
    "hypersensitivity_to_product_components": FactSpec(
        _B, "Hypersensitivity to product components, process residues or saline vehicle"
    ),
    "severe_allergy_or_multiple_allergies": FactSpec(
        _B, "History of severe allergy or anaphylaxis, or allergy to ≥ 2 drugs or foods"
    ),
    "current_smoking_or_vaping": FactSpec(_B, "Currently smoking or vaping"),
    "uncontrolled_heart_failure": FactSpec(_B, "Uncontrolled heart failure"),
    "significant_arrhythmia": FactSpec(_B, "Significant arrhythmia"),
    "airway_hyperreactivity_to_saline": FactSpec(
        _B, "Known airway hyper-reactivity to nebulised saline, or a positive test dose"
    ),
    "long_term_immunosuppression": FactSpec(_B, "Long-term immunosuppressants"),
    "transplant_recipient": FactSpec(_B, "Transplant recipient"),
    "alt_x_uln": FactSpec(_N, "ALT", "× ULN"),
    "ast_x_uln": FactSpec(_N, "AST", "× ULN"),
    "egfr_ml_min_1_73m2": FactSpec(_N, "eGFR", "mL/min/1.73 m²"),
}
