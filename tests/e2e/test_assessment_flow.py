"""End to end in chromium: a nurse records a full assessment (spirometry with the live
preview, vitals, scales, care check, history), computes the decision, a physician signs
it, and the session moves on to "cleared for dosing"."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from .conftest import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

HISTORY: dict[str, str] = {
    # answers for the demo protocol's history questions (clinical.md §5.2 inclusion/exclusion)
    "diagnosis": "copd", "diagnosis_confirmed": "yes", "dlco_percent_predicted": "60",
    "clinically_stable_4_weeks": "yes", "can_use_mouthpiece_or_mask": "yes",
    "can_perform_spirometry": "yes", "last_exacerbation_date": "2025-05-01",
    "last_respiratory_steroid_or_antibiotic_date": "none",
    "last_respiratory_hospitalisation_date": "none", "active_infection": "no",
    "viral_test_required": "no", "active_or_recent_malignancy": "no",
    "pregnant_or_lactating": "no", "hypersensitivity_to_product_components": "no",
    "severe_allergy_or_multiple_allergies": "no", "current_smoking_or_vaping": "no",
    "last_mi_or_unstable_angina_date": "none", "uncontrolled_heart_failure": "no",
    "significant_arrhythmia": "no", "airway_hyperreactivity_to_saline": "no",
    "long_term_immunosuppression": "no", "transplant_recipient": "no",
    "alt_x_uln": "0.8", "ast_x_uln": "0.9", "egfr_ml_min_1_73m2": "78",
    "able_to_consent_and_follow_schedule": "yes",
    "last_other_investigational_product_date": "none",
    "other_investigational_product_within_5_half_lives": "no",
}  # fmt: skip


def _login(browser: Any, server: str, username: str) -> tuple[Any, Any]:
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")
    return context, page


def _api(context: Any, page: Any, url: str, data: dict[str, Any]) -> dict[str, Any]:
    """POST through the JSON API with the page's login session and CSRF token."""
    headers = page.get_attribute("body", "hx-headers")
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', headers or "")
    assert token, headers
    response = context.request.post(url, data=data, headers={"X-CSRF-Token": token.group(1)})
    assert response.status == 201, response.text()
    body: dict[str, Any] = response.json()
    return body


def _planned_session(context: Any, page: Any) -> int:
    """A new patient of our own, consented and enrolled, with one planned session."""
    patient = _api(
        context,
        page,
        "/api/v1/patients",
        {
            "mrn": "E2E-ASSESS-1",
            "family_name": "Franklin",
            "given_name": "Rosalind",
            "birth_date": "1960-03-12",
            "sex": "female",
            "height_cm": 165,
            "weight_kg": 62,
        },
    )
    pid = patient["id"]
    _api(context, page, f"/api/v1/patients/{pid}/care", {
        "medicine": "Tiotropium", "dose": "18 µg", "route": "inhaled",
        "frequency": "once daily", "prescriber": "Dr. Own GP"})  # fmt: skip
    _api(context, page, f"/api/v1/patients/{pid}/consents",
         {"document_version": "ICF v1.0", "consent_date": date.today().isoformat()})  # fmt: skip
    enrolment = _api(context, page, f"/api/v1/patients/{pid}/enrolments", {
        "protocol_id": "demo-exo-01", "arm_code": "DL1", "authorisation_kind": "IND",
        "authorisation_number": "IND-E2E-2", "ethics_approval": "IRB-E2E-2"})  # fmt: skip
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    session = _api(context, page, f"/api/v1/patients/{pid}/sessions", {
        "enrolment_id": enrolment["id"], "planned_for": f"{tomorrow}T09:30:00Z"})  # fmt: skip
    return int(session["id"])


def _answer_history(page: Any) -> None:
    form = page.locator("#h-history").locator("xpath=..").locator("form")
    for name, answer in HISTORY.items():
        control = form.locator(f'[name="h_{name}"]')
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(answer)
        else:
            control.fill(answer)
    before = form.locator('[name="version"]').input_value()
    form.get_by_role("button", name="Record answers").click()
    # the page comes back with the next version of the record: only then go on
    page.wait_for_function(
        "v => document.querySelector('#decision input[name=version]').value !== v", arg=before
    )


def test_full_assessment_to_a_signed_decision(server: str, browser: Any) -> None:
    doctor_context, doctor = _login(browser, server, "dr.demo")
    session_id = _planned_session(doctor_context, doctor)
    nurse_context, nurse = _login(browser, server, "nurse")
    errors: list[str] = []
    nurse.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    url = f"/sessions/{session_id}/assessment"

    nurse.goto(url)
    nurse.get_by_role("button", name="Start the assessment").click()
    nurse.get_by_role("button", name="Record and score").wait_for()

    spiro = nurse.locator("#h-spiro").locator("xpath=..").locator("form")
    spiro.get_by_label("FEV1 (L)", exact=True).fill("1.30")
    spiro.get_by_label("FVC (L)", exact=True).fill("2.60")
    preview = nurse.locator("#spiro-preview")
    preview.get_by_text("Preview (not saved)").wait_for()  # scored while typing, nothing stored
    assert "below LLN" in preview.text_content()
    spiro.get_by_role("button", name="Record and score").click()
    nurse.get_by_text("Pre-session (gli-global").wait_for()

    spiro = nurse.locator("#h-spiro").locator("xpath=..").locator("form")
    spiro.get_by_label("Test", exact=True).select_option("post_bd")
    spiro.get_by_label("FEV1 (L)", exact=True).fill("1.40")
    spiro.get_by_label("FVC (L)", exact=True).fill("2.70")
    spiro.get_by_role("button", name="Record and score").click()
    nurse.get_by_text("Post-bronchodilator (gli-global").wait_for()

    vitals = nurse.locator("#h-vitals").locator("xpath=..").locator("form")
    for label, value in (("SpO2 (%)", "95"), ("Heart rate (/min)", "78"),
                         ("Respiratory rate (/min)", "16"), ("Systolic BP (mmHg)", "132"),
                         ("Diastolic BP (mmHg)", "82"), ("Temperature (°C)", "36.8"),
                         ("Weight (kg)", "62")):  # fmt: skip
        vitals.get_by_label(label, exact=True).fill(value)
    vitals.get_by_label("Breathing").select_option("room_air")
    vitals.get_by_role("button", name="Record vital signs").click()
    nurse.get_by_text("SpO2 95.0 % (room_air)").wait_for()

    scales = nurse.locator("#h-scales").locator("xpath=..").locator("form")
    for domain in ("Cough", "Phlegm", "Chest tightness", "Breathlessness", "Activities",
                   "Confidence", "Sleep", "Energy"):  # fmt: skip
        scales.get_by_label(domain, exact=True).fill("2")
    scales.get_by_label("mMRC dyspnoea grade (0–4)").select_option("2")
    scales.get_by_label("Distance walked (m)").fill("380")
    scales.get_by_role("button", name="Record scales").click()
    nurse.get_by_text("CAT total 16").wait_for()
    assert "6MWD 380.0 m" in nurse.text_content("#h-scales + p, section[aria-labelledby=h-scales]")

    care = nurse.locator("#h-care").locator("xpath=..").locator("form")
    care.get_by_label("Taken as prescribed today?").select_option("yes")
    care.get_by_label("Last changed on (YYYY-MM-DD)").fill("2025-06-01")
    care.get_by_role("button", name="Record the care check").click()
    nurse.get_by_text("Taken as prescribed.").wait_for()

    _answer_history(nurse)
    nurse.get_by_role("button", name="Compute the decision").click()
    decision = nurse.locator("#decision")
    nurse.get_by_text("Outcome:").wait_for()
    assert "Outcome: Cleared" in " ".join(decision.text_content().split()), decision.text_content()
    assert nurse.get_by_role("button", name="Sign the decision").count() == 0  # nurses don't sign
    nurse_context.close()

    doctor.goto(url)
    sign = doctor.locator("#decision form", has_text="Sign the decision")
    sign.get_by_label("Your password").fill(DEMO_PASSWORD)
    sign.get_by_role("button", name="Sign the decision").click()
    doctor.get_by_text('signed "approved" by').wait_for()

    doctor.goto(f"/sessions/{session_id}")
    doctor.get_by_role("button", name="Move to Assessed").click()
    doctor.get_by_role("button", name="Move to Cleared for dosing").click()
    doctor.locator("main", has_text="Cleared for dosing").wait_for()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    doctor_context.close()
