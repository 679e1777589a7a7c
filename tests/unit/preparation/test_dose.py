"""Dose arithmetic (reference/clinical.md §7 and §1.1–§1.2): stock, saline, device limits.

The worked examples were computed by hand before the code was run:

1. 8.0×10^8 particles (MEXVT dose level 3) at 2.0×10^9 particles/mL:
   stock = 8e8 / 2e9 = 0.40 mL; fill 3.0 mL → saline 3.00 − 0.40 = 2.60 mL.
2. 1.6×10^9 particles (MEXVT dose level 4 in the demo protocol) at 5.0×10^9/mL:
   stock = 0.32 mL; saline = 2.68 mL.
3. 2.0×10^8 particles (dose level 1) at 1.5×10^9/mL: stock = 0.1333… mL → 0.13 mL;
   loaded = 0.13 × 1.5e9 = 1.95×10^8 particles, 2.5 % below the prescription;
   saline = 2.87 mL.
4. NCT05808400: 5 mL at 1×10^9/mL = 5×10^9 particles: stock 5.00 mL = the whole fill,
   saline 0.00 mL.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exoneb.preparation.rules import (
    DoseNotPreparable,
    FillVolumeOutsideDevice,
    InsufficientVolume,
    InvalidInput,
    NebulizerFill,
    RoundingTooCoarse,
    StockExceedsFill,
    format_particles,
    plan_dose,
)

MESH = NebulizerFill("Mesh nebulizer (demo)", min_fill_ml=1.0, max_fill_ml=6.0, residual_ml=0.0)


@pytest.mark.parametrize(
    ("dose", "conc", "fill", "stock", "saline", "loaded"),
    [
        (8.0e8, 2.0e9, 3.0, 0.40, 2.60, 8.0e8),
        (1.6e9, 5.0e9, 3.0, 0.32, 2.68, 1.6e9),
        (2.0e8, 1.5e9, 3.0, 0.13, 2.87, 1.95e8),
        (5.0e9, 1.0e9, 5.0, 5.00, 0.00, 5.0e9),
    ],
)
def test_worked_examples_by_hand(
    dose: float, conc: float, fill: float, stock: float, saline: float, loaded: float
) -> None:
    """§7: volume to withdraw = dose ÷ concentration; top up to the fill with saline."""
    plan = plan_dose(
        dose_particles=dose, certified_particles_per_ml=conc, fill_ml=fill, device=MESH
    )
    assert plan.stock_ml == pytest.approx(stock, abs=1e-12)
    assert plan.saline_ml == pytest.approx(saline, abs=1e-12)
    assert plan.stock_ml + plan.saline_ml == pytest.approx(fill, abs=1e-12)
    assert plan.loaded_particles == pytest.approx(loaded)
    assert plan.expected_emitted_particles == pytest.approx(loaded)  # no residual on MESH
    assert not plan.residual_compensated


def test_rounding_is_reported_never_hidden() -> None:
    """Rounding policy: 0.1333 mL → 0.13 mL and the plan says the dose is 2.5 % lower."""
    plan = plan_dose(
        dose_particles=2.0e8, certified_particles_per_ml=1.5e9, fill_ml=3.0, device=MESH
    )
    assert plan.stock_exact_ml == pytest.approx(0.133333, rel=1e-5)
    assert plan.deviation_fraction == pytest.approx(-0.025)
    assert any("−2.5 %" in s or "-2.5 %" in s for s in plan.steps)
    assert any("0.1333 mL → 0.13 mL" in s for s in plan.steps)


def test_half_way_volumes_round_up() -> None:
    """0.225 mL is measured as 0.23 mL (half-up), and the higher loaded dose is shown."""
    plan = plan_dose(
        dose_particles=2.25e8, certified_particles_per_ml=1.0e9, fill_ml=3.0, device=MESH
    )
    assert plan.stock_ml == pytest.approx(0.23)
    assert plan.loaded_particles == pytest.approx(2.3e8)
    assert plan.deviation_fraction > 0


def test_the_arithmetic_is_shown_step_by_step_with_units() -> None:
    """Issue 5: 'It shows the arithmetic.'"""
    plan = plan_dose(
        dose_particles=8.0e8, certified_particles_per_ml=2.0e9, fill_ml=3.0, device=MESH
    )
    assert plan.steps == (
        "Prescribed dose: 8.00×10^8 particles.",
        "Certified concentration of the lot: 2.00×10^9 particles/mL.",
        "Stock volume = 8.00×10^8 particles ÷ 2.00×10^9 particles/mL = 0.4000 mL → 0.40 mL "
        "(rounded to 0.01 mL).",
        "Saline = 3.00 mL fill − 0.40 mL stock = 2.60 mL.",
        "Loaded dose = 0.40 mL × 2.00×10^9 particles/mL = 8.00×10^8 particles (+0.0 % from the "
        "8.00×10^8 to load).",
    )


@pytest.mark.parametrize(
    ("residual", "stock", "saline"),
    [
        (1.0, 0.60, 2.40),  # 8e8 × 3 / (3 − 1) = 1.2e9 particles → 0.60 mL
        (0.5, 0.48, 2.52),  # 8e8 × 3 / 2.5 = 9.6e8 particles → 0.48 mL
    ],
)
def test_residual_compensation_loads_more_so_the_emitted_dose_is_the_prescription(
    residual: float, stock: float, saline: float
) -> None:
    """Load dose × fill / (fill − residual): a well-mixed residual keeps residual/fill of it."""
    jet = NebulizerFill("Jet (demo)", min_fill_ml=2.0, max_fill_ml=6.0, residual_ml=residual)
    plan = plan_dose(
        dose_particles=8.0e8,
        certified_particles_per_ml=2.0e9,
        fill_ml=3.0,
        device=jet,
        compensate_residual=True,
    )
    assert plan.residual_compensated
    assert plan.target_particles == pytest.approx(8.0e8 * 3.0 / (3.0 - residual))
    assert plan.stock_ml == pytest.approx(stock)
    assert plan.saline_ml == pytest.approx(saline)
    assert plan.expected_emitted_particles == pytest.approx(8.0e8)
    assert any(s.startswith("Residual compensation") for s in plan.steps)


def test_without_compensation_the_expected_emitted_dose_is_still_shown() -> None:
    """Nobody should mistake the loaded dose for the dose leaving the device."""
    jet = NebulizerFill("Jet (demo)", min_fill_ml=2.0, max_fill_ml=6.0, residual_ml=0.5)
    plan = plan_dose(
        dose_particles=8.0e8, certified_particles_per_ml=2.0e9, fill_ml=3.0, device=jet
    )
    assert plan.stock_ml == pytest.approx(0.40)
    assert plan.expected_emitted_particles == pytest.approx(8.0e8 * 2.5 / 3.0)
    assert plan.steps[-1].startswith("Expected to leave the nebulizer")


def test_a_residual_as_large_as_the_fill_is_refused() -> None:
    """Nothing would be nebulized."""
    device = NebulizerFill("Odd", min_fill_ml=1.0, max_fill_ml=6.0, residual_ml=3.0)
    for compensate in (True, False):
        with pytest.raises(DoseNotPreparable) as info:
            plan_dose(
                dose_particles=8.0e8,
                certified_particles_per_ml=2.0e9,
                fill_ml=3.0,
                device=device,
                compensate_residual=compensate,
            )
        assert info.value.code == "dose.not_preparable"


def test_stock_equal_to_the_fill_is_allowed_and_above_it_is_refused() -> None:
    """A lot too dilute for the dose in this fill cannot be topped up with negative saline."""
    ok = plan_dose(dose_particles=6.0e9, certified_particles_per_ml=2.0e9, fill_ml=3.0, device=MESH)
    assert ok.saline_ml == 0.0
    with pytest.raises(StockExceedsFill, match="too dilute") as info:
        plan_dose(dose_particles=6.02e9, certified_particles_per_ml=2.0e9, fill_ml=3.0, device=MESH)
    assert info.value.code == "dose.stock_exceeds_fill"


@pytest.mark.parametrize(("fill", "ok"), [(1.99, False), (2.0, True), (6.0, True), (6.01, False)])
def test_fill_volume_must_be_within_the_device_limits(fill: float, ok: bool) -> None:
    """§3.1: fill volumes of 1.5–5 mL; each device has its own minimum/maximum fill."""
    device = NebulizerFill("Jet (demo)", min_fill_ml=2.0, max_fill_ml=6.0)
    kwargs: dict[str, Any] = {
        "dose_particles": 2.0e8,
        "certified_particles_per_ml": 2.0e9,
        "fill_ml": fill,
    }
    if ok:
        assert plan_dose(device=device, **kwargs).fill_ml == fill
    else:
        with pytest.raises(FillVolumeOutsideDevice, match="Jet \\(demo\\)"):
            plan_dose(device=device, **kwargs)


def test_not_enough_product_left_in_the_vials_is_refused() -> None:
    """Issue 5 block: 'not enough volume'."""
    kwargs: dict[str, Any] = {
        "dose_particles": 8.0e8,
        "certified_particles_per_ml": 2.0e9,
        "fill_ml": 3.0,
    }
    assert plan_dose(device=MESH, available_ml=0.40, **kwargs).stock_ml == pytest.approx(0.40)
    with pytest.raises(InsufficientVolume, match=r"0\.40 mL of stock but only 0\.39 mL"):
        plan_dose(device=MESH, available_ml=0.39, **kwargs)


@pytest.mark.parametrize(
    ("dose", "conc"),
    [
        (1.4e8, 1.0e10),  # 0.014 mL → 0.01 mL: −28.6 %
        (4.0e7, 1.0e10),  # 0.004 mL → 0.00 mL: nothing to draw
    ],
)
def test_stock_volumes_too_small_to_measure_are_refused(dose: float, conc: float) -> None:
    """Rounding policy: more than 5 % off the dose is a refusal, not a silent rounding."""
    with pytest.raises(RoundingTooCoarse) as info:
        plan_dose(dose_particles=dose, certified_particles_per_ml=conc, fill_ml=3.0, device=MESH)
    assert info.value.code == "dose.rounding_too_coarse"


@pytest.mark.parametrize(
    "overrides",
    [
        {"dose_particles": 0.0},
        {"dose_particles": -8.0e8},
        {"dose_particles": math.nan},
        {"dose_particles": math.inf},
        {"certified_particles_per_ml": 0.0},
        {"certified_particles_per_ml": -2.0e9},
        {"fill_ml": 0.0},
        {"fill_ml": -3.0},
        {"fill_ml": 3.005},  # not measurable to 0.01 mL
        {"available_ml": -0.1},
        {"volume_step_ml": 0.0},
        {"max_rounding_deviation": -0.01},
    ],
)
def test_zero_negative_and_non_numeric_inputs_are_refused(overrides: dict[str, float]) -> None:
    """Impossible inputs never produce a plan."""
    kwargs: dict[str, Any] = {
        "dose_particles": 8.0e8,
        "certified_particles_per_ml": 2.0e9,
        "fill_ml": 3.0,
    }
    kwargs.update(overrides)
    with pytest.raises(InvalidInput) as info:
        plan_dose(device=MESH, **kwargs)
    assert info.value.code == "preparation.invalid_input"


@pytest.mark.parametrize(
    ("low", "high", "residual"), [(3.0, 2.0, 0.0), (0.0, 2.0, 0.0), (1.0, 2.0, -0.1)]
)
def test_impossible_device_limits_are_refused(low: float, high: float, residual: float) -> None:
    """A device description with reversed or negative limits is refused when recorded."""
    with pytest.raises(InvalidInput):
        NebulizerFill("Bad", min_fill_ml=low, max_fill_ml=high, residual_ml=residual)


@pytest.mark.parametrize(
    ("value", "text"),
    [(8.0e8, "8.00×10^8"), (1.95e8, "1.95×10^8"), (2.0e10, "2.00×10^10"), (0, "0")],
)
def test_particle_counts_are_written_in_scientific_notation(value: float, text: str) -> None:
    """The label and the steps write counts as clinicians do."""
    assert format_particles(value) == text


@given(
    dose=st.floats(1e7, 1e11),
    conc=st.floats(1e8, 1e11),
    fill=st.sampled_from([1.5, 2.0, 3.0, 4.0, 5.0]),
    residual=st.sampled_from([0.0, 0.3, 1.0]),
    compensate=st.booleans(),
)
def test_any_plan_closes_to_the_fill_or_is_refused_for_the_right_reason(
    dose: float, conc: float, fill: float, residual: float, compensate: bool
) -> None:
    """Properties of the §7 arithmetic: stock + saline = fill, within 0.005 mL of exact,
    loaded dose within 5 % of the target; otherwise the refusal matches an independent
    recomputation."""
    device = NebulizerFill("Demo", min_fill_ml=1.0, max_fill_ml=6.0, residual_ml=residual)
    target = dose * fill / (fill - residual) if compensate and residual > 0 else dose
    exact = target / conc
    try:
        plan = plan_dose(
            dose_particles=dose,
            certified_particles_per_ml=conc,
            fill_ml=fill,
            device=device,
            compensate_residual=compensate,
        )
    except RoundingTooCoarse:
        measured = math.floor(exact * 100 + 0.5) / 100  # half-up, as the policy says
        assert measured == 0 or abs(measured * conc - target) / target > 0.05 - 1e-9
        return
    except StockExceedsFill:
        assert exact > fill - 0.005 - 1e-9
        return
    assert plan.target_particles == pytest.approx(target)
    assert round(plan.stock_ml + plan.saline_ml, 9) == fill
    assert 0.01 - 1e-12 <= plan.stock_ml <= fill
    assert plan.saline_ml >= 0
    assert abs(plan.stock_ml - exact) <= 0.005 + 1e-9
    assert abs(plan.deviation_fraction) <= 0.05
    assert plan.loaded_particles == pytest.approx(plan.stock_ml * conc)
    assert plan.expected_emitted_particles == pytest.approx(
        plan.loaded_particles * (fill - residual) / fill
    )
