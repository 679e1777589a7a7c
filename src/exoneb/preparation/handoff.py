"""What the inhalation step receives from a verified preparation. Pure data.

The preparation service fills this in (``preparation.service.verified_dose``);
the inhalation step reads it to know what was loaded into the nebulizer and to
run the lung-dose estimate. Keeping the hand-over a small frozen dataclass lets
the two steps be built and tested apart: neither reads the other's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["VerifiedDose"]


@dataclass(frozen=True, slots=True)
class VerifiedDose:
    """A dose that was prepared for one session and verified by a second person.

    Volumes are what went into the nebulizer reservoir; ``dose_particles`` is
    the intended loaded dose (stock volume × certified concentration).
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
