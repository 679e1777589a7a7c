"""Request models of the preparation API and pages (and the service's inputs).

Every edit of a lot, a vial or a preparation carries the ``version`` the
client loaded, so a stale edit is a 409 naming who changed the record first.
Ranges that need the domain rules (a certificate's numbers, the dose
arithmetic) are checked by the pure rules and come back as 422 or 409 with a
sentence for the pharmacist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Qualitative = Literal["negative", "positive"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Versioned(_In):
    """Any edit: the record version the client loaded."""

    version: int = Field(ge=1)


class Reasoned(Versioned):
    """An edit that needs a reason (quarantine, recall, discard)."""

    reason: str = Field(min_length=1, max_length=2000)


class Signed(Versioned):
    """An edit signed with the user's password (release, reject, verify)."""

    password: str = Field(min_length=1, max_length=200)


class ReleaseIn(Signed):
    """Release a lot: the pharmacist re-enters their password."""


class RejectIn(Signed):
    """Reject a lot: the pharmacist re-enters their password and says why."""

    reason: str = Field(min_length=1, max_length=2000)


class LotReceiveIn(_In):
    """An exosome lot as its certificate of analysis states it.

    Measured values are optional: a certificate that omits a test is recorded
    as it is, and the release checklist shows that criterion as *missing*.
    """

    protocol_id: str = Field(min_length=1, max_length=60)
    product_name: str = Field(min_length=1, max_length=200)
    manufacturer: str = Field(min_length=1, max_length=200)
    lot_number: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    certificate_id: str = Field(min_length=1, max_length=80)
    expires_at: datetime
    storage_min_c: float = Field(ge=-200, le=40)
    storage_max_c: float = Field(ge=-200, le=40)
    vial_count: int = Field(ge=1, le=500)
    volume_per_vial_ml: float = Field(gt=0, le=100)
    max_thaw_cycles: int = Field(default=1, ge=1, le=5)
    labelled_particles_per_ml: float | None = Field(default=None, ge=0)
    certified_particles_per_ml: float | None = Field(default=None, ge=0)
    concentration_method: str | None = Field(default=None, max_length=200)
    size_mode_nm: float | None = Field(default=None, ge=0, le=10000)
    size_window_low_nm: float | None = Field(default=None, ge=0, le=10000)
    size_window_high_nm: float | None = Field(default=None, ge=0, le=10000)
    size_within_window_percent: float | None = Field(default=None, ge=0, le=100)
    protein_ug_per_ml: float | None = Field(default=None, ge=0)
    particle_protein_ratio_per_ug: float | None = Field(default=None, ge=0)
    markers: dict[str, bool] = Field(default_factory=dict, max_length=30)
    sterility: Qualitative | None = None
    endotoxin_eu_per_ml: float | None = Field(default=None, ge=0)
    mycoplasma: Qualitative | None = None
    cell_tissue: str | None = Field(default=None, max_length=120)
    donor_code: str | None = Field(default=None, max_length=80)
    passage: int | None = Field(default=None, ge=0, le=100)
    cell_bank_id: str | None = Field(default=None, max_length=80)


class SalineLotIn(_In):
    """A saline (diluent) lot: a licensed product, recorded by its label."""

    product_name: str = Field(default="Sodium chloride 0.9 %", min_length=1, max_length=200)
    manufacturer: str = Field(min_length=1, max_length=200)
    lot_number: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    expires_at: datetime
    container_count: int = Field(ge=1, le=10000)
    volume_per_container_ml: float = Field(gt=0, le=1000)


class ExcursionIn(_In):
    """A storage-temperature reading (or a logged excursion) for a lot."""

    recorded_at: datetime
    temperature_c: float = Field(ge=-273, le=100)
    duration_min: float = Field(default=0, ge=0, le=100000)
    note: str | None = Field(default=None, max_length=2000)


class ThawIn(_In):
    """Thaw one vial: the lot (FEFO when left out) or the vial, and the method."""

    lot_id: int | None = None
    vial_id: int | None = None
    method: str = Field(default="room temperature, gentle inversion", min_length=1, max_length=120)


class PlanIn(_In):
    """What a preparation would use (for the preview and the preparation itself)."""

    lot_id: int | None = None
    nebulizer_key: str = Field(default="aerogen-solo", min_length=1, max_length=60)


class PrepareIn(PlanIn):
    """Prepare and sign a dose for a session."""

    saline_lot_id: int
    appearance_ok: bool
    appearance_note: str | None = Field(default=None, max_length=2000)
    password: str = Field(min_length=1, max_length=200)


class VerifyIn(Signed):
    """Second-person verification of a preparation."""


class DiscardPreparationIn(Reasoned):
    """Discard a prepared dose that will not be given (e.g. past its use-by)."""


class ProductLotIn(_In):
    """Receive a comparator product lot: a medicinal product (drug) or a cell product.

    A drug is a solution for nebulization (``strength_per_ml`` in mg or µg per
    mL, ``volume_per_unit_ml`` per ampoule/vial) or an inhaler (``emitted_dose_ug``
    per actuation and ``actuations_per_unit`` per canister/device). A cell
    product gives ``strength_per_ml`` in cells/mL.
    """

    kind: Literal["drug", "cells"]
    protocol_id: str = Field(min_length=1, max_length=60)
    product_name: str = Field(min_length=1, max_length=200)
    manufacturer: str = Field(min_length=1, max_length=200)
    lot_number: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    certificate_id: str | None = Field(default=None, max_length=80)
    expires_at: datetime
    dosage_form: Literal["solution", "inhaler"] | None = None
    strength_per_ml: float | None = Field(default=None, gt=0)
    strength_unit: Literal["mg", "ug", "cells"] | None = None
    emitted_dose_ug: float | None = Field(default=None, gt=0, le=100000)
    actuations_per_unit: int | None = Field(default=None, ge=1, le=1000)
    unit_count: int = Field(ge=1, le=500)
    volume_per_unit_ml: float | None = Field(default=None, gt=0, le=100)
    storage_min_c: float | None = Field(default=None, ge=-200, le=40)
    storage_max_c: float | None = Field(default=None, ge=-200, le=40)
    cell_tissue: str | None = Field(default=None, max_length=120)
    donor_code: str | None = Field(default=None, max_length=80)
    passage: int | None = Field(default=None, ge=0, le=100)
    cell_bank_id: str | None = Field(default=None, max_length=80)


class ProductReleaseIn(Signed):
    """The pharmacist's release of a drug or cell lot against its label (e-signature).

    Each confirmation is one criterion of the checklist; all must be true.
    """

    batch_matches: bool
    expiry_matches: bool
    identity_matches: bool


class ProductPrepareIn(_In):
    """Prepare and sign a comparator dose (drug by nebulizer or inhaler, or cells)."""

    lot_id: int
    device_key: str = Field(min_length=1, max_length=60)
    saline_lot_id: int | None = None
    appearance_ok: bool
    appearance_note: str | None = Field(default=None, max_length=2000)
    password: str = Field(min_length=1, max_length=200)


class ProductPlanIn(_In):
    """What a comparator or placebo preparation would use (the preview; nothing stored).

    Left out: the first usable lot of the kind the arm needs (first expiry first)
    and the first device the arm's regimen allows.
    """

    lot_id: int | None = None
    device_key: str | None = Field(default=None, min_length=1, max_length=60)
    saline_lot_id: int | None = None


class PlaceboPrepareIn(_In):
    """Prepare and sign a vehicle-only (saline placebo) dose: saline to the arm's fill volume."""

    saline_lot_id: int
    device_key: str = Field(min_length=1, max_length=60)
    appearance_ok: bool
    appearance_note: str | None = Field(default=None, max_length=2000)
    password: str = Field(min_length=1, max_length=200)
