"""Dose arithmetic for the nebulizer: stock volume, saline top-up, device fill limits.

The prescribed dose is a number of particles (NTA), taken from the patient's
dose level in the protocol (``reference/clinical.md`` §1.2). The pharmacist
draws ``dose ÷ certified concentration`` mL of stock and tops it up with
saline to the nebulizer's fill volume (§7). :func:`plan_dose` does that
arithmetic, checks it against the device and the vial(s), and returns every
step as a sentence with units so the preparer and the second person can check
the numbers by hand.

Rounding policy
---------------
A syringe is read to 0.01 mL, so the stock volume is rounded to the nearest
``volume_step_ml`` (default 0.01 mL, half-up). Rounding may move the dose
either way; it is never hidden: the plan reports the dose actually loaded
(``stock_ml × concentration``) and its deviation from the target, and refuses
(:class:`RoundingTooCoarse`) when that deviation exceeds
``max_rounding_deviation`` (default 5 %), which happens only for very small
stock volumes — the remedy is a lower-concentration lot or an intermediate
dilution, decided by the pharmacist, not by silent rounding. The saline volume
is ``fill − stock`` on the same 0.01 mL grid, so stock + saline is exactly the
fill volume.

Residual-volume compensation
----------------------------
Every nebulizer keeps a residual volume it cannot aerosolise. If the residual
is well mixed, it holds the same concentration as the fill, so only
``(fill − residual) / fill`` of the loaded particles leave the device. When the
protocol asks for compensation, the loaded dose is raised to
``dose × fill / (fill − residual)`` so that the expected emitted dose equals
the prescription. Without compensation the plan still reports the expected
emitted dose, so nobody mistakes the loaded dose for the inhaled one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from exoneb.preparation.checks import check_volume
from exoneb.preparation.errors import (
    DoseNotPreparable,
    FillVolumeOutsideDevice,
    InvalidInput,
    RoundingTooCoarse,
    StockExceedsFill,
)

__all__ = ["DosePlan", "NebulizerFill", "format_particles", "plan_dose"]


def format_particles(value: float) -> str:
    """Write a particle count or concentration as ``8.00×10^8`` (three significant digits)."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}×10^{int(exponent)}"


def _positive(name: str, value: float, unit: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise InvalidInput(f"The {name} must be a positive number of {unit} (got {value}).")
    return value


def _to_grid(value: float, step: Decimal) -> Decimal:
    return Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class NebulizerFill:
    """The fill limits of a nebulizer model.

    Attributes
    ----------
    name : str
        Make and model as shown on the preparation page.
    min_fill_ml, max_fill_ml : float
        The smallest and largest fill the manufacturer allows (inclusive).
    residual_ml : float
        Volume left in the device at the end of nebulization (0 for none stated).
    """

    name: str
    min_fill_ml: float
    max_fill_ml: float
    residual_ml: float = 0.0

    def __post_init__(self) -> None:
        _positive(f"minimum fill of {self.name}", self.min_fill_ml, "mL")
        _positive(f"maximum fill of {self.name}", self.max_fill_ml, "mL")
        if self.min_fill_ml > self.max_fill_ml:
            raise InvalidInput(
                f"{self.name}: the minimum fill {self.min_fill_ml} mL is above the maximum "
                f"{self.max_fill_ml} mL."
            )
        if not (math.isfinite(self.residual_ml) and self.residual_ml >= 0):
            raise InvalidInput(
                f"{self.name}: the residual volume must be zero or more mL "
                f"(got {self.residual_ml})."
            )


@dataclass(frozen=True, slots=True)
class DosePlan:
    """The worked dose preparation, with every number the label and the checker need.

    Attributes
    ----------
    prescribed_particles : float
        The dose from the patient's dose level.
    target_particles : float
        The dose to load: the prescription, or more when the residual volume is
        compensated.
    certified_particles_per_ml : float
        The lot's certified concentration used for the arithmetic.
    stock_exact_ml : float
        ``target ÷ concentration`` before rounding.
    stock_ml, saline_ml, fill_ml : float
        Volumes to draw and load, on the 0.01 mL grid (stock + saline = fill).
    loaded_particles : float
        ``stock_ml × concentration``: the dose actually put into the nebulizer.
    expected_emitted_particles : float
        The loaded dose minus the share kept in the residual volume.
    deviation_fraction : float
        ``(loaded − target) / target``, signed.
    residual_compensated : bool
        Whether the loaded dose was raised for the residual volume.
    steps : tuple of str
        The arithmetic as sentences with units, in order.
    """

    prescribed_particles: float
    target_particles: float
    certified_particles_per_ml: float
    stock_exact_ml: float
    stock_ml: float
    saline_ml: float
    fill_ml: float
    loaded_particles: float
    expected_emitted_particles: float
    deviation_fraction: float
    residual_compensated: bool
    steps: tuple[str, ...]


def plan_dose(
    *,
    dose_particles: float,
    certified_particles_per_ml: float,
    fill_ml: float,
    device: NebulizerFill,
    compensate_residual: bool = False,
    available_ml: float | None = None,
    volume_step_ml: float = 0.01,
    max_rounding_deviation: float = 0.05,
) -> DosePlan:
    """Work out the stock and saline volumes for one nebulizer fill.

    Parameters
    ----------
    dose_particles : float
        Prescribed dose, particles (from the dose level).
    certified_particles_per_ml : float
        The lot's certified concentration, particles/mL (from its CoA).
    fill_ml : float
        The protocol's nebulizer fill volume, mL.
    device : NebulizerFill
        The nebulizer's fill limits and residual volume.
    compensate_residual : bool
        Load ``dose × fill / (fill − residual)`` so the expected emitted dose
        equals the prescription (when the protocol asks for it).
    available_ml : float, optional
        Product left in the usable vial(s); the stock volume must fit in it.
    volume_step_ml : float
        Measuring resolution for volumes (default 0.01 mL).
    max_rounding_deviation : float
        Largest accepted relative change of the dose caused by rounding the
        stock volume (default 0.05 = 5 %).

    Returns
    -------
    DosePlan

    Raises
    ------
    InvalidInput
        A zero, negative or non-numeric input, or a fill volume not on the grid.
    FillVolumeOutsideDevice
        The fill is outside the device's minimum/maximum fill.
    DoseNotPreparable
        The device's residual volume is not smaller than the fill.
    RoundingTooCoarse
        The stock volume is too small to measure to the grid within the limit.
    StockExceedsFill
        The stock volume alone is larger than the fill volume.
    InsufficientVolume
        Not enough product is left in the vial(s).
    """
    _positive("prescribed dose", dose_particles, "particles")
    _positive("certified concentration", certified_particles_per_ml, "particles/mL")
    _positive("fill volume", fill_ml, "mL")
    _positive("volume step", volume_step_ml, "mL")
    if not (math.isfinite(max_rounding_deviation) and max_rounding_deviation >= 0):
        raise InvalidInput("The accepted rounding deviation must be zero or more.")
    if available_ml is not None and not (math.isfinite(available_ml) and available_ml >= 0):
        raise InvalidInput(f"The volume left in the vial(s) must be ≥ 0 mL (got {available_ml}).")
    step = Decimal(repr(volume_step_ml))
    places = max(0, -int(step.as_tuple().exponent))
    fill = _to_grid(fill_ml, step)
    if not math.isclose(float(fill), fill_ml, rel_tol=0, abs_tol=1e-9):
        raise InvalidInput(f"Give the fill volume to {volume_step_ml:g} mL (got {fill_ml} mL).")
    if not device.min_fill_ml <= fill_ml <= device.max_fill_ml:
        raise FillVolumeOutsideDevice(
            f"A fill of {fill_ml:.{places}f} mL is outside what the {device.name} takes "
            f"({device.min_fill_ml:g}–{device.max_fill_ml:g} mL). Use a fill volume in that "
            "range or another nebulizer allowed by the protocol."
        )

    conc = format_particles(certified_particles_per_ml)
    steps = [
        f"Prescribed dose: {format_particles(dose_particles)} particles.",
        f"Certified concentration of the lot: {conc} particles/mL.",
    ]
    residual = device.residual_ml
    if residual >= fill_ml:
        raise DoseNotPreparable(
            f"The {device.name} keeps {residual:g} mL, as much as the whole fill of "
            f"{fill_ml:g} mL, so nothing would be nebulized. Use a larger fill volume."
        )
    emitted_share = (fill_ml - residual) / fill_ml
    target = dose_particles
    if compensate_residual and residual > 0:
        target = dose_particles * fill_ml / (fill_ml - residual)
        steps.append(
            f"Residual compensation: load {format_particles(dose_particles)} × "
            f"{fill_ml:g} mL ÷ ({fill_ml:g} mL − {residual:g} mL residual) = "
            f"{format_particles(target)} particles."
        )
    exact = target / certified_particles_per_ml
    stock = _to_grid(exact, step)
    loaded = float(stock) * certified_particles_per_ml
    deviation = (loaded - target) / target
    steps.append(
        f"Stock volume = {format_particles(target)} particles ÷ {conc} particles/mL = "
        f"{exact:.4f} mL → {stock} mL (rounded to {volume_step_ml:g} mL)."
    )
    if stock <= 0 or abs(deviation) > max_rounding_deviation:
        raise RoundingTooCoarse(
            f"The stock volume is {exact:.4f} mL; measured to {volume_step_ml:g} mL it would "
            f"change the dose by {deviation * 100:+.1f} % (limit ±{max_rounding_deviation:.0%}). "
            "Use a lower-concentration lot or a validated intermediate dilution."
        )
    if stock > fill:
        raise StockExceedsFill(
            f"The dose needs {stock} mL of stock, more than the {fill} mL fill volume: the lot "
            f"({conc} particles/mL) is too dilute for this dose in this fill. Use a more "
            "concentrated lot or a fill volume the protocol allows."
        )
    if available_ml is not None:
        check_volume(float(stock), available_ml).require()
    saline = fill - stock
    steps.append(f"Saline = {fill} mL fill − {stock} mL stock = {saline} mL.")
    steps.append(
        f"Loaded dose = {stock} mL × {conc} particles/mL = {format_particles(loaded)} "
        f"particles ({deviation * 100:+.1f} % from the {format_particles(target)} to load)."
    )
    emitted = loaded * emitted_share
    if residual > 0:
        steps.append(
            f"Expected to leave the nebulizer: {format_particles(loaded)} × "
            f"({fill} mL − {residual:g} mL residual) ÷ {fill} mL = "
            f"{format_particles(emitted)} particles."
        )
    return DosePlan(
        prescribed_particles=dose_particles,
        target_particles=target,
        certified_particles_per_ml=certified_particles_per_ml,
        stock_exact_ml=exact,
        stock_ml=float(stock),
        saline_ml=float(saline),
        fill_ml=float(fill),
        loaded_particles=loaded,
        expected_emitted_particles=emitted,
        deviation_fraction=deviation,
        residual_compensated=compensate_residual and residual > 0,
        steps=tuple(steps),
    )
