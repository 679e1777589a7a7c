"""What the inhalation step receives from a verified preparation. Pure data.

The preparation service fills this in (``preparation.service.verified_dose``);
the inhalation step reads it to know what was loaded into the nebulizer and to
run the lung-dose estimate. Keeping the hand-over a small frozen dataclass lets
the two steps be built and tested apart: neither reads the other's tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

__all__ = ["DOSE_UNITS", "HandoffDoseUnit", "VerifiedDose"]

#: What a handed-over dose counts: vesicles (NTA particles), drug mass, or cells.
#: ASCII ``"ug"`` for micrograms so the value is safe in URLs, CSV and JSON keys.
HandoffDoseUnit = Literal["particles", "ug", "mg", "cells"]
DOSE_UNITS: tuple[str, ...] = get_args(HandoffDoseUnit)


@dataclass(frozen=True, slots=True)
class VerifiedDose:
    """A dose that was prepared for one session and verified by a second person.

    Volumes are what went into the nebulizer reservoir; ``dose_particles`` is
    the intended loaded dose (stock volume × certified concentration) of a
    vesicle product.

    ``dose_amount`` + ``dose_unit`` say explicitly what was loaded, so regimens
    dosed in drug mass (``"mg"``, ``"ug"``) or in cells can be run from the
    hand-over too. Read the dose through :attr:`amount`: when ``dose_amount`` is
    not given it is ``dose_particles`` in ``"particles"`` (every exosome lot
    today), so a preparation that only knows particles stays correct. A
    non-particle dose keeps ``dose_particles`` at 0: a milligram is not a
    vesicle, and nothing downstream may read it as one.
    ``nebulizer_key`` is the dose-engine catalog key the preparation was made
    for (``exoneb.dosimetry`` nebulizer catalog), so inhalation can check the
    device used matches.
    """

    preparation_id: int
    session_id: int
    lot_id: int
    lot_number: str
    product_name: str
    dose_level: str
    dose_particles: float
    concentration_particles_per_ml: float
    stock_volume_ml: float
    saline_volume_ml: float
    fill_volume_ml: float
    nebulizer_key: str
    prepared_by: str
    prepared_at: datetime
    use_by: datetime
    verified_by: str
    verified_at: datetime
    dose_amount: float | None = None
    dose_unit: HandoffDoseUnit = "particles"

    def __post_init__(self) -> None:
        # Refuse rather than guess: a dose in an unknown unit, or two disagreeing
        # particle numbers, would silently change the lung-dose estimate.
        if self.dose_unit not in DOSE_UNITS:
            raise ValueError(
                f"Unknown dose unit {self.dose_unit!r}; one of: {', '.join(DOSE_UNITS)}."
            )
        if self.dose_amount is None and self.dose_unit != "particles":
            raise ValueError(f"A dose in {self.dose_unit} needs its dose_amount.")
        amount = self.amount
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"The dose amount must be 0 or more (got {amount}).")
        if self.dose_unit == "particles" and amount != self.dose_particles:
            raise ValueError(
                f"dose_amount {amount:g} and dose_particles {self.dose_particles:g} disagree."
            )
        if self.dose_unit != "particles" and self.dose_particles != 0:
            raise ValueError(
                f"A dose in {self.dose_unit} carries no vesicles: dose_particles must be 0."
            )

    @property
    def amount(self) -> float:
        """The loaded dose in :attr:`dose_unit` (``dose_particles`` when no amount was given)."""
        return float(self.dose_amount if self.dose_amount is not None else self.dose_particles)
