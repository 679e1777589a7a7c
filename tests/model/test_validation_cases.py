"""End-to-end validation cases of reference/dosimetry.md §3.2 and the trends of issue #2.

Each test's docstring states the inputs assumed, the expected value, the tolerance and
the source. Experimental cases compare the *model* with published data at wide
tolerances (±1 SD or the stated range); they are model-validation checks, not oracles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from exoneb.dosimetry import deposit
from exoneb.dosimetry.breathing import icrp66_subject

#: ICRP-66 resting adult male breathing (Table 15, sitting): V_T 750 mL, 12 /min, I:E 1:1.
RESTING_MALE: dict[str, Any] = {
    "tidal_volume_ml": 750.0,
    "breaths_per_min": 12.0,
    "inspiratory_fraction": 0.5,
    "sex": "male",
    "age_years": 35.0,
    "height_cm": 176.0,
}


def _f(value: Any) -> float:
    assert value is not None
    return float(value)


# --- #13 jet nebulizer ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def case13() -> dict[str, float]:
    r = deposit(nebulizer="jet-generic", fill_ml=2.5, **RESTING_MALE)
    loaded = r.fractions_of_loaded
    return {
        "apparatus": _f(loaded["residual"])
        + _f(loaded["device_losses"])
        + _f(loaded["interface_losses"]),
        "exhaled": _f(loaded["exhaled"]) + _f(loaded["lost_during_exhalation"]),
        "mouth": _f(loaded["extrathoracic"]),
        "lungs": _f(loaded["lung"]),
    }


@pytest.mark.parametrize(
    ("part", "expected"),
    [("apparatus", 0.66), ("exhaled", 0.20), ("mouth", 0.02), ("lungs", 0.12)],
)
def test_case13_jet_mini_neb(case13: dict[str, float], part: str, expected: float) -> None:
    """§3.2 #13 [EXP]: jet (Inspiron Mini-Neb), 99mTc-HSA, 6 normal + 2 asthmatic adults.

    Inputs: ``deposit(nebulizer="jet-generic", fill_ml=2.5, tidal_volume_ml=750,
    breaths_per_min=12, inspiratory_fraction=0.5, sex="male", age_years=35, height_cm=176)``.
    The fill was not reported (2.5 mL is the standard unit dose); breathing = ICRP-66
    resting adult male. Expected, % of the charge: apparatus (residual + device + interface)
    66, exhaled (exhaled + lost during exhalation) 20, mouth (extrathoracic) 2, lungs 12;
    tolerance ±5 percentage points. Source: Br J Dis Chest 1985;79:361–367.
    """
    assert abs(case13[part] - expected) <= 0.05, f"{part} = {case13[part]:.4f}"


# --- #14 mesh DELBio DK010 ------------------------------------------------------------------


@pytest.fixture(scope="module")
def case14() -> dict[str, float]:
    r = deposit(nebulizer="delbio-dk010", **RESTING_MALE)
    return {k: _f(v) for k, v in r.fractions_of_loaded.items()}


def test_case14_mesh_lung(case14: dict[str, float]) -> None:
    """§3.2 #14 [EXP]: mesh DELBio DK010, 2 mL 99mTc-DTPA, MMAD 3.47 µm, 6 healthy adults.

    Inputs: ``deposit(nebulizer="delbio-dk010")`` with the ICRP-66 resting male breathing
    (V_T 750 mL, 12 /min, inspiratory fraction 0.5; male 35 y 176 cm). Expected lung
    deposition 13.8 ± 4.1 % of the initial dose (±1 SD). Source: J Med Biol Eng 2022,
    doi:10.1007/s40846-022-00757-w.
    """
    assert abs(case14["lung"] - 0.138) <= 0.041, case14["lung"]


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Known model limitation: the NCRP-96 oral ET fit gives ~2.8 % of the initial dose for "
        "this study, below its measured extrathoracic 4.8 ± 1.1 %; the oral fit under-predicts "
        "mouth-throat deposition here (reference/dosimetry.md §2.3, §3.2 #14)."
    ),
)
def test_case14_mesh_extrathoracic(case14: dict[str, float]) -> None:
    """§3.2 #14 [EXP]: same inputs as the lung check; extrathoracic 4.8 ± 1.1 % of the initial dose.

    Expected to fail (strict xfail): the NCRP-96 oral ET fit under-predicts this study's
    extrathoracic fraction (model ≈ 2.8 %). If it starts passing, the xfail turns into a
    failure so the limitation note can be revisited. Source: J Med Biol Eng 2022.
    """
    assert abs(case14["extrathoracic"] - 0.048) <= 0.011, case14["extrathoracic"]


# --- #15 Omron NE-U22 inhaled mass ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tidal_volume_ml", "breaths_per_min", "duty", "expected", "sd"),
    [(450.0, 15.0, 0.35, 0.300, 0.029), (1500.0, 5.0, 0.70, 0.539, 0.080)],
)
def test_case15_omron_ne_u22_inhaled_mass(
    tidal_volume_ml: float, breaths_per_min: float, duty: float, expected: float, sd: float
) -> None:
    """§3.2 #15 [EXP, in vitro]: Omron NE-U22 mesh, radiolabelled saline, piston simulator.

    Inputs: ``deposit(nebulizer="omron-ne-u22", tidal_volume_ml=V_T,
    breaths_per_min=f, inspiratory_fraction=duty, frc_ml=3300)`` (FRC given so that
    1500 mL is allowed). Inhaled mass = extrathoracic + lung + exhaled of the loaded dose.
    Expected 30.0 ± 2.9 % (450 mL, 15/min, duty 0.35) and 53.9 ± 8.0 % (1500 mL, 5/min,
    duty 0.70), ±1 SD. Source: J Aerosol Med Pulm Drug Deliv, doi 10.1089/jamp.2014.1152.
    """
    r = deposit(
        nebulizer="omron-ne-u22",
        tidal_volume_ml=tidal_volume_ml,
        breaths_per_min=breaths_per_min,
        inspiratory_fraction=duty,
        frc_ml=3300.0,
    )
    loaded = r.fractions_of_loaded
    inhaled = _f(loaded["extrathoracic"]) + _f(loaded["lung"]) + _f(loaded["exhaled"])
    assert abs(inhaled - expected) <= sd, inhaled


# --- #18 Sturm stochastic model, sitting, nasal ---------------------------------------------


def _icrp_nasal(activity: str, d_um: float, **extra: Any) -> dict[str, float]:
    s = icrp66_subject("male", activity)  # type: ignore[arg-type]
    r = deposit(
        mmad_um=d_um,
        gsd=1.0,
        tidal_volume_ml=s.tidal_volume_ml,
        breaths_per_min=s.breaths_per_min,
        inspiratory_fraction=0.5,
        frc_ml=s.frc_ml,
        route="nose",
        nasal_fraction=1.0,
        **extra,
    )
    return {k: _f(v) for k, v in r.fractions_of_inhaled.items()}


def test_icrp_sitting_male_breathing() -> None:
    """ICRP-66 Table 15 (data/hrtm_subjects_breathing.json): sitting male V_T 750 mL, 12 /min,
    FRC 3301 mL, nasal fraction 1 for a normal nose breather — the inputs of #18 below."""
    s = icrp66_subject("male", "sitting")
    assert (s.tidal_volume_ml, s.breaths_per_min, s.frc_ml) == (750.0, 12.0, 3301.0)
    assert s.nasal_fraction_normal == 1.0


_STURM_TOTAL_OUTSIDE = pytest.mark.xfail(
    strict=True,
    reason="Known difference: 69.2 % at 2 µm vs Sturm's upper bound 68.4 % (symmetric Weibel lung "
    "and NCRP-96 nasal filter against a stochastic lung model); see docs/dosimetry.md",
)
_STURM_ET_OUTSIDE = pytest.mark.xfail(
    strict=True,
    reason="Known difference: NCRP-96 nasal ET 3.9 % at 0.5 µm vs Sturm's lower bound 4.8 %; "
    "see docs/dosimetry.md",
)


@pytest.mark.parametrize("d_um", [0.1, 0.5, 1.0, pytest.param(2.0, marks=_STURM_TOTAL_OUTSIDE)])
def test_case18_sturm_total_deposition(d_um: float) -> None:
    """§3.2 #18 [MODEL]: Sturm stochastic lung model, sitting, nasal, 0.1–2.0 µm.

    Inputs: ICRP sitting male (``icrp66_subject("male", "sitting")``: V_T 750 mL, 12 /min,
    inspiratory fraction 0.5, FRC 3301 mL), route nose, nasal_fraction 1, monodisperse
    (gsd = 1) at d µm. Expected total deposition 1 − exhaled (of inhaled) within the
    published range 8.5–68.4 % (no widening). Source: Sturm R., AME Med J, article 5437.
    """
    total = 1.0 - _icrp_nasal("sitting", d_um)["exhaled"]
    assert 0.085 <= total <= 0.684, f"total deposition {total:.4f} at {d_um} µm"


@pytest.mark.parametrize("d_um", [0.1, pytest.param(0.5, marks=_STURM_ET_OUTSIDE), 1.0, 2.0])
def test_case18_sturm_extrathoracic(d_um: float) -> None:
    """§3.2 #18 [MODEL]: as above; expected ET within 4.8–46.7 % of inhaled (no widening).

    Source: Sturm R., AME Med J, article 5437.
    """
    et = _icrp_nasal("sitting", d_um)["extrathoracic"]
    assert 0.048 <= et <= 0.467, f"ET {et:.4f} at {d_um} µm"


# --- experimental trends of controlled mouth breathing --------------------------------------


def _total_mouth(d_um: float, tidal_volume_ml: float, flow_ml_s: float) -> float:
    """Total deposition (1 − exhaled, of inhaled), mouthpiece, I:E 1:1, FRC 4500 mL."""
    inhalation_s = tidal_volume_ml / flow_ml_s
    breaths_per_min = 60.0 / (2.0 * inhalation_s)
    r = deposit(
        mmad_um=d_um,
        gsd=1.0,
        tidal_volume_ml=tidal_volume_ml,
        breaths_per_min=breaths_per_min,
        inspiratory_fraction=0.5,
        frc_ml=4500.0,
        route="mouth",
    )
    return 1.0 - _f(r.fractions_of_inhaled["exhaled"])


@pytest.mark.parametrize("d_um", [1.0, 2.0, 3.0])
def test_total_deposition_rises_with_tidal_volume(d_um: float) -> None:
    """Issue #2 "Tests": controlled mouth breathing — total deposition rises with tidal volume at
    a fixed flow. Inputs: monodisperse d µm, flow 250 mL/s, V_T 500/1000/1500 mL
    (15, 7.5, 5 /min, inspiratory fraction 0.5), FRC 4500 mL, mouthpiece. Expected: strictly
    increasing. Source: issue #2; Heyder et al. 1986 trend (§3.2 additional numbers)."""
    totals = [_total_mouth(d_um, vt, 250.0) for vt in (500.0, 1000.0, 1500.0)]
    assert totals[0] < totals[1] < totals[2], totals


@pytest.mark.parametrize("d_um", [1.0, 2.0, 3.0])
def test_total_deposition_falls_with_flow(d_um: float) -> None:
    """Issue #2 "Tests": total deposition falls with flow at a fixed tidal volume for 1–3 µm.

    Inputs: monodisperse d µm, V_T 1000 mL at 250/500/750 mL/s (7.5, 15, 22.5 /min,
    inspiratory fraction 0.5), FRC 4500 mL, mouthpiece. Expected: strictly decreasing.
    Source: issue #2.
    """
    totals = [_total_mouth(d_um, 1000.0, q) for q in (250.0, 500.0, 750.0)]
    assert totals[0] > totals[1] > totals[2], totals


@pytest.mark.parametrize("d_um", [1.0, 2.0, 3.0, 4.0, 5.0])
@pytest.mark.parametrize("activity", ["sitting", "light_exercise"])
def test_mouth_less_extrathoracic_than_nose(d_um: float, activity: str) -> None:
    """Issue #2 "Tests": mouth breathing gives less ET deposition than nose breathing, 1–5 µm.

    Inputs: monodisperse d µm, ICRP male sitting / light-exercise breathing, inspiratory
    fraction 0.5; route mouth vs nose (nasal fraction 1). Expected ET(mouth) < ET(nose).
    """
    s = icrp66_subject("male", activity)  # type: ignore[arg-type]
    common: dict[str, Any] = {
        "mmad_um": d_um,
        "gsd": 1.0,
        "tidal_volume_ml": s.tidal_volume_ml,
        "breaths_per_min": s.breaths_per_min,
        "inspiratory_fraction": 0.5,
        "frc_ml": s.frc_ml,
    }
    mouth = _f(deposit(route="mouth", **common).fractions_of_inhaled["extrathoracic"])
    nose = _f(
        deposit(route="nose", nasal_fraction=1.0, **common).fractions_of_inhaled["extrathoracic"]
    )
    assert mouth < nose, (mouth, nose)


# --- Weibel nasal vs the ICRP-66 fits -------------------------------------------------------

#: Bounds on |Weibel − ICRP-66| (fractions of inhaled), measured 2026-11-29 over 1–5 µm and
#: rounded up generously (measured maxima: sitting ET 0.262, TB 0.073, AL 0.208; light
#: exercise ET 0.054, TB 0.041, AL 0.069). A regression guard, not a validation.
WEIBEL_VS_ICRP_BOUNDS: dict[str, dict[str, float]] = {
    "sitting": {"extrathoracic": 0.35, "tracheobronchial": 0.12, "alveolar": 0.30},
    "light_exercise": {"extrathoracic": 0.10, "tracheobronchial": 0.08, "alveolar": 0.12},
}


@pytest.mark.parametrize("d_um", [1.0, 2.0, 3.0, 4.0, 5.0])
@pytest.mark.parametrize("activity", ["sitting", "light_exercise"])
def test_weibel_nasal_near_icrp66(activity: str, d_um: float) -> None:
    """Issue #2 "Tests": the Weibel model with nasal breathing at ICRP sitting / light-exercise
    breathing lands near the ICRP-66 fits over 1–5 µm.

    Inputs: monodisperse d µm; ICRP male breathing (sitting V_T 750 mL 12/min; light exercise
    1250 mL 20/min), inspiratory fraction 0.5, FRC 3301 mL, route nose, nasal fraction 1;
    vs ``deposit(model="icrp66")`` (Hinds eqs 11.1–11.4, §1.1). Expected |ΔET|, |ΔTB|,
    |ΔAL| finite and within WEIBEL_VS_ICRP_BOUNDS (measured, rounded up; regression guard).
    """
    weibel = _icrp_nasal(activity, d_um)
    icrp = deposit(model="icrp66", mmad_um=d_um, gsd=1.0).fractions_of_inhaled
    for region, bound in WEIBEL_VS_ICRP_BOUNDS[activity].items():
        diff = weibel[region] - _f(icrp[region])
        assert np.isfinite(diff)
        assert abs(diff) <= bound, f"{activity} {d_um} µm {region}: Δ = {diff:+.4f}"
