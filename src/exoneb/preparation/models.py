"""Tables for step 2: product lots, their release, vials, inventory events and dose preparations.

- :class:`ProductLot` — one received lot with its certificate of analysis (an
  exosome lot) or its label data (a saline/diluent lot), and its status.
- :class:`LotRelease` + :class:`LotReleaseResult` — each release or rejection
  decision, with the result of every criterion as it was shown when signed.
- :class:`ProductVial` — one vial of an exosome lot. Volumes are whole
  microlitres and every row satisfies ``initial = remaining + used + discarded``
  (a CHECK constraint), so the lot balance *received = in stock + used +
  discarded* holds in the database itself, not only in the code.
- :class:`InventoryEvent` — every lot or vial movement (receive, release,
  quarantine, recall, thaw, excursion, discard, use), who and when, with the
  reason. Audit rows say the same; this table is what the lot page lists.
- :class:`DosePreparation` + :class:`PreparationDraw` — one dose made up for a
  session: inputs, the arithmetic, the checks, the label, the preparer's and
  the second person's signatures; the vials it was drawn from.

Records are never deleted; nothing here points at ``audit_event``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exoneb.core.db import Base, UTCDateTime


class ProductLot(Base):
    """A received product lot and its certificate or label.

    ``kind``: ``exosome``, ``saline``, ``drug`` (a medicinal product: a solution
    for nebulization or an inhaler) or ``cells`` (a cell product in cells/mL).
    """

    __tablename__ = "product_lot"
    __table_args__ = (UniqueConstraint("kind", "manufacturer", "lot_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # exosome | saline | drug | cells
    product_name: Mapped[str] = mapped_column(String(200))
    manufacturer: Mapped[str] = mapped_column(String(200))
    lot_number: Mapped[str] = mapped_column(String(80))
    certificate_id: Mapped[str | None] = mapped_column(String(80))
    # the protocol whose release criteria the lot is judged against
    protocol_id: Mapped[str | None] = mapped_column(String(60))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    storage_min_c: Mapped[float | None] = mapped_column(Float)
    storage_max_c: Mapped[float | None] = mapped_column(Float)
    vial_count: Mapped[int] = mapped_column(Integer)
    volume_per_vial_ml: Mapped[float] = mapped_column(Float)
    max_thaw_cycles: Mapped[int] = mapped_column(Integer, default=1)
    # certificate of analysis (exosome lots; every measured field optional)
    labelled_particles_per_ml: Mapped[float | None] = mapped_column(Float)
    certified_particles_per_ml: Mapped[float | None] = mapped_column(Float)
    concentration_method: Mapped[str | None] = mapped_column(String(200))
    size_mode_nm: Mapped[float | None] = mapped_column(Float)
    size_window_low_nm: Mapped[float | None] = mapped_column(Float)
    size_window_high_nm: Mapped[float | None] = mapped_column(Float)
    size_within_window_percent: Mapped[float | None] = mapped_column(Float)
    protein_ug_per_ml: Mapped[float | None] = mapped_column(Float)
    particle_protein_ratio_per_ug: Mapped[float | None] = mapped_column(Float)
    markers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sterility: Mapped[str | None] = mapped_column(String(20))
    endotoxin_eu_per_ml: Mapped[float | None] = mapped_column(Float)
    mycoplasma: Mapped[str | None] = mapped_column(String(20))
    cell_tissue: Mapped[str | None] = mapped_column(String(120))
    donor_code: Mapped[str | None] = mapped_column(String(80))
    passage: Mapped[int | None] = mapped_column(Integer)
    cell_bank_id: Mapped[str | None] = mapped_column(String(80))
    # comparator products (kind drug | cells): label strength, emitted dose of an inhaler
    dosage_form: Mapped[str | None] = mapped_column(String(20))  # solution | inhaler (drug)
    strength_per_ml: Mapped[float | None] = mapped_column(Float)  # in strength_unit per mL
    strength_unit: Mapped[str | None] = mapped_column(String(10))  # mg | ug | cells
    emitted_dose_ug: Mapped[float | None] = mapped_column(Float)  # per actuation (inhaler)
    actuations_per_unit: Mapped[int | None] = mapped_column(Integer)  # per inhaler (inhaler)
    # where the lot stands
    status: Mapped[str] = mapped_column(String(20))  # lifecycle.LotStatus
    status_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class LotRelease(Base):
    """One release or rejection decision on a lot, signed by the pharmacist/lab user."""

    __tablename__ = "lot_release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("product_lot.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # released | rejected
    releasable: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    protocol_id: Mapped[str] = mapped_column(String(60))
    protocol_version: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by: Mapped[str] = mapped_column(String(200))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))


class LotReleaseResult(Base):
    """One line of a release decision's checklist, as evaluated and shown."""

    __tablename__ = "lot_release_result"
    __table_args__ = (UniqueConstraint("release_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("lot_release.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))  # pass | fail | missing
    measured: Mapped[str] = mapped_column(Text)
    limit_text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)


class ProductVial(Base):
    """One vial of an exosome lot; volumes in whole microlitres, always balanced."""

    __tablename__ = "product_vial"
    __table_args__ = (
        UniqueConstraint("lot_id", "number"),
        CheckConstraint(
            "initial_ul = remaining_ul + used_ul + discarded_ul "
            "AND remaining_ul >= 0 AND used_ul >= 0 AND discarded_ul >= 0",
            name="balance",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("product_lot.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # lifecycle.VialStatus
    initial_ul: Mapped[int] = mapped_column(Integer)
    remaining_ul: Mapped[int] = mapped_column(Integer)
    used_ul: Mapped[int] = mapped_column(Integer)
    discarded_ul: Mapped[int] = mapped_column(Integer)
    thaw_count: Mapped[int] = mapped_column(Integer)
    thawed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thaw_method: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class InventoryEvent(Base):
    """One movement of a lot or a vial: what, who, when, why, and the volume it moved."""

    __tablename__ = "inventory_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("product_lot.id"), index=True)
    vial_id: Mapped[int | None] = mapped_column(ForeignKey("product_vial.id"), index=True)
    preparation_id: Mapped[int | None] = mapped_column(ForeignKey("dose_preparation.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    volume_ul: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(200))


class DosePreparation(Base):
    """One dose made up for one session, with its arithmetic, checks, label and signatures."""

    __tablename__ = "dose_preparation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("product_lot.id"), index=True)
    # NULL for an inhaler dose: nothing is diluted
    saline_lot_id: Mapped[int | None] = mapped_column(ForeignKey("product_lot.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # prepared | verified | discarded
    protocol_id: Mapped[str] = mapped_column(String(60))
    protocol_version: Mapped[str] = mapped_column(String(20))
    arm_code: Mapped[str] = mapped_column(String(40))
    # the device and the protocol's choices
    nebulizer_key: Mapped[str] = mapped_column(String(60))
    nebulizer_name: Mapped[str] = mapped_column(String(200))
    min_fill_ml: Mapped[float] = mapped_column(Float)
    max_fill_ml: Mapped[float] = mapped_column(Float)
    residual_ml: Mapped[float] = mapped_column(Float)
    compensate_residual: Mapped[bool] = mapped_column(Boolean)
    # the arithmetic (dose.DosePlan)
    prescribed_particles: Mapped[float] = mapped_column(Float)
    target_particles: Mapped[float] = mapped_column(Float)
    certified_particles_per_ml: Mapped[float] = mapped_column(Float)
    stock_exact_ml: Mapped[float] = mapped_column(Float)
    stock_ml: Mapped[float] = mapped_column(Float)
    saline_ml: Mapped[float] = mapped_column(Float)
    fill_ml: Mapped[float] = mapped_column(Float)
    loaded_particles: Mapped[float] = mapped_column(Float)
    expected_emitted_particles: Mapped[float] = mapped_column(Float)
    deviation_fraction: Mapped[float] = mapped_column(Float)
    # a comparator product's dose (NULL for exosome doses, which count particles above)
    dose_amount: Mapped[float | None] = mapped_column(Float)
    dose_unit: Mapped[str | None] = mapped_column(String(10))  # mg | ug | cells
    actuations: Mapped[int | None] = mapped_column(Integer)  # inhaler doses
    steps: Mapped[list[Any]] = mapped_column(JSON)
    checks: Mapped[list[Any]] = mapped_column(JSON)
    # the bench record
    appearance_ok: Mapped[bool] = mapped_column(Boolean)
    appearance_note: Mapped[str | None] = mapped_column(Text)
    thaw_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    use_by: Mapped[datetime] = mapped_column(UTCDateTime)
    label_code: Mapped[str] = mapped_column(String(80), unique=True)
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    prepared_by: Mapped[str] = mapped_column(String(200))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_by: Mapped[str | None] = mapped_column(String(200))
    verification_signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discarded_by: Mapped[str | None] = mapped_column(String(200))
    discard_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class PreparationDraw(Base):
    """Stock drawn from one vial for a preparation (the rest of the vial is discarded)."""

    __tablename__ = "preparation_draw"
    __table_args__ = (UniqueConstraint("preparation_id", "vial_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    preparation_id: Mapped[int] = mapped_column(ForeignKey("dose_preparation.id"), index=True)
    vial_id: Mapped[int] = mapped_column(ForeignKey("product_vial.id"), index=True)
    volume_ul: Mapped[int] = mapped_column(Integer)
    remainder_discarded_ul: Mapped[int] = mapped_column(Integer)
    thawed_at: Mapped[datetime] = mapped_column(UTCDateTime)
