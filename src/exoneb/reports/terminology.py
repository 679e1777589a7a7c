"""Codes and units for export: LOINC, SNOMED CT, UCUM, FHIR code systems. Pure data.

One table per purpose, each entry citing ``reference/interop.md`` (§1.1 LOINC,
§1.2 SNOMED CT, §1.3 UCUM). The FHIR export takes its codes from here and the
export checks (:mod:`exoneb.reports.fhir_checks`) accept only what is here, so
a code cannot be used in one place and be unknown to the other.

Only codes the reference marks as sourced are used. Codes it marks [verify]
(FEV1/FVC post-bronchodilator 69970-2, FEV1 predicted 20149-1, …) are not:
the post-bronchodilator FEV1/FVC is exported under 19926-5 with the phase in
the Observation's ``method``.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

CANONICAL_BASE = "https://exoneb.invalid/fhir"
"""Base of exoneb's own code systems and identifiers. ``.invalid`` is reserved
(RFC 2606): a site publishing exports replaces it with a URL it controls."""

LOCAL_OBSERVATION = f"{CANONICAL_BASE}/CodeSystem/observation"
LOCAL_COMPONENT = f"{CANONICAL_BASE}/CodeSystem/spirometry-component"
LOCAL_SIGNATURE_MEANING = f"{CANONICAL_BASE}/CodeSystem/signature-meaning"


@dataclass(frozen=True, slots=True)
class Code:
    """A coded concept: system, code, display, and the UCUM unit its values take ("" if none)."""

    system: str
    code: str
    display: str
    ucum: str = ""

    def coding(self) -> dict[str, str]:
        """The FHIR Coding."""
        return {"system": self.system, "code": self.code, "display": self.display}


# --- spirometry (interop.md §1.1; units §1.3: L, ratio as the fraction "1", z as {z-score}) ---

FEV1 = Code(LOINC, "20150-9", "FEV1", "L")
FEV1_POST_BD = Code(LOINC, "20155-8", "FEV1 --post bronchodilation", "L")
FVC = Code(LOINC, "19868-9", "Forced vital capacity [Volume] Respiratory system by Spirometry", "L")
FVC_POST_BD = Code(LOINC, "19874-7", "Forced vital capacity --post bronchodilation", "L")
FEV1_FVC = Code(LOINC, "19926-5", "FEV1/FVC", "1")
FEV1_PERCENT_PREDICTED = Code(LOINC, "20152-5", "FEV1 measured/predicted", "%")
FVC_PERCENT_PREDICTED = Code(LOINC, "19872-1", "FVC measured/predicted", "%")
Z_SCORE_TECHNIQUE = Code(SNOMED, "1078210003", "Z-score calculation technique (qualifier value)")

SPIROMETRY: dict[tuple[str, str], Code] = {
    ("pre", "fev1"): FEV1,
    ("post_bd", "fev1"): FEV1_POST_BD,
    ("pre", "fvc"): FVC,
    ("post_bd", "fvc"): FVC_POST_BD,
    ("pre", "fev1_fvc"): FEV1_FVC,
    ("post_bd", "fev1_fvc"): FEV1_FVC,
}
"""(test kind, parameter) → the Observation code. FEF25–75 is not exported: its
LOINC codes are unconfirmed in the reference (§1.1 [verify])."""

PERCENT_PREDICTED: dict[str, Code] = {"fev1": FEV1_PERCENT_PREDICTED, "fvc": FVC_PERCENT_PREDICTED}

COMPONENT_PREDICTED = Code(LOCAL_COMPONENT, "predicted", "Predicted value")
COMPONENT_LLN = Code(LOCAL_COMPONENT, "lln", "Lower limit of normal (5th centile)")
COMPONENT_Z = Code(LOCAL_COMPONENT, "z-score", "z-score", "{z-score}")

# --- vital signs (FHIR R4 vital-signs value set; interop.md §1.1, §1.3) ----------------------

SPO2 = Code(LOINC, "2708-6", "Oxygen saturation in Arterial blood", "%")
SPO2_PULSE_OXIMETRY = Code(
    LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"
)
HEART_RATE = Code(LOINC, "8867-4", "Heart rate", "/min")
RESPIRATORY_RATE = Code(LOINC, "9279-1", "Respiratory rate", "/min")
BODY_TEMPERATURE = Code(LOINC, "8310-5", "Body temperature", "Cel")
BP_PANEL = Code(LOINC, "85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = Code(LOINC, "8480-6", "Systolic blood pressure", "mm[Hg]")
DIASTOLIC = Code(LOINC, "8462-4", "Diastolic blood pressure", "mm[Hg]")
BODY_HEIGHT = Code(LOINC, "8302-2", "Body height", "cm")
BODY_WEIGHT = Code(LOINC, "29463-7", "Body weight", "kg")
BMI = Code(LOINC, "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2")

VITALS: dict[str, tuple[Code, ...]] = {
    "spo2_percent": (SPO2, SPO2_PULSE_OXIMETRY),
    "heart_rate_bpm": (HEART_RATE,),
    "respiratory_rate_per_min": (RESPIRATORY_RATE,),
    "temperature_c": (BODY_TEMPERATURE,),
    "height_cm": (BODY_HEIGHT,),
    "weight_kg": (BODY_WEIGHT,),
    "bmi": (BMI,),
}
"""Stored vitals field → its Observation codes (blood pressure is one panel, below)."""

PEF = Code(
    LOINC,
    "19935-6",
    "Maximum expiratory gas flow Respiratory system airway by Peak flow meter",
    "L/min",
)

# --- adverse-event findings (§1.2; only the verified ones) -----------------------------------

COUGH = Code(SNOMED, "49727002", "Cough (finding)")
DYSPNOEA = Code(SNOMED, "267036007", "Dyspnea (finding)")
BRONCHOSPASM = Code(SNOMED, "4386001", "Bronchospasm (finding)")

# --- scales: no LOINC code in the cited sources (§1.1) → local codes ------------------------

CAT_TOTAL = Code(
    LOCAL_OBSERVATION, "cat-total", "COPD Assessment Test total score (0–40)", "{score}"
)
MMRC_GRADE = Code(LOCAL_OBSERVATION, "mmrc-grade", "mMRC dyspnoea grade (0–4)", "{grade}")
SIX_MINUTE_WALK = Code(LOCAL_OBSERVATION, "6mwt-distance", "Six-minute walk distance", "m")

# --- procedures and devices (§1.2) ----------------------------------------------------------

SPIROMETRY_PROCEDURE = Code(SNOMED, "127783003", "Spirometry (procedure)")
NEBULIZER_THERAPY = Code(SNOMED, "56251003", "Nebuliser therapy")
NEBULIZER_DEVICE = Code(SNOMED, "334947002", "Nebulizer (physical object)")
ROUTE_RESPIRATORY = Code(SNOMED, "447694001", "Respiratory tract route (qualifier value)")
METHOD_INHALE = Code(SNOMED, "421134003", "Inhale")

# --- e-signatures (FHIR signature-type value set, ASTM E1762) --------------------------------

SIGNATURE_TYPES: dict[str, Code] = {
    "performed": Code(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.1", "Author's Signature"),
    "verified": Code(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.5", "Verification Signature"),
    "approved": Code(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.6", "Validation Signature"),
    "reviewed": Code(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.13", "Review Signature"),
}
"""exoneb signature meaning → ASTM E1762 signature type (the exact meaning travels too,
as a second coding in exoneb's own system)."""

EXPORT_EVENT = Code(DICOM, "110106", "Export")

KNOWN_CODES: frozenset[Code] = frozenset(
    {
        FEV1, FEV1_POST_BD, FVC, FVC_POST_BD, FEV1_FVC, FEV1_PERCENT_PREDICTED,
        FVC_PERCENT_PREDICTED, Z_SCORE_TECHNIQUE, COMPONENT_PREDICTED, COMPONENT_LLN,
        COMPONENT_Z, SPO2, SPO2_PULSE_OXIMETRY, HEART_RATE, RESPIRATORY_RATE,
        BODY_TEMPERATURE, BP_PANEL, SYSTOLIC, DIASTOLIC, BODY_HEIGHT, BODY_WEIGHT, BMI,
        CAT_TOTAL, MMRC_GRADE, SIX_MINUTE_WALK, SPIROMETRY_PROCEDURE, NEBULIZER_THERAPY,
        NEBULIZER_DEVICE, ROUTE_RESPIRATORY, METHOD_INHALE, EXPORT_EVENT, PEF, COUGH,
        DYSPNOEA, BRONCHOSPASM,
        *SIGNATURE_TYPES.values(),
    }
)  # fmt: skip
"""Every (system, code, display) the export may emit in a terminology we check."""

CHECKED_SYSTEMS = frozenset({LOINC, SNOMED, LOCAL_OBSERVATION, LOCAL_COMPONENT, SIGNATURE_TYPE,
                             DICOM})  # fmt: skip
"""Systems whose codes must be in :data:`KNOWN_CODES` (others are FHIR's own code systems,
checked as required bindings)."""

UCUM_UNITS = frozenset({"L", "mL", "L/s", "L/min", "1", "%", "{z-score}", "/min", "Cel",
                        "mm[Hg]", "cm", "kg", "kg/m2", "m", "{score}", "{grade}",
                        "mL/min", "{particles}", "{cells}", "mg", "ug", "min", "s"})  # fmt: skip
"""The UCUM unit codes exoneb exports (interop.md §1.3)."""

UNIT_FOR_CODE: dict[tuple[str, str], str] = {
    (c.system, c.code): c.ucum for c in KNOWN_CODES if c.ucum
}
"""An observation code's one permitted UCUM unit (e.g. FEV1 → L): a wrong unit is refused."""
