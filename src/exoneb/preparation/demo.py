"""Demo data for step 2: a released exosome lot with its vials, a saline lot, and the lots of
the demo protocol's comparator arms (salbutamol solution for SC-NEB, a Qvar 100 pMDI for
SC-PMDI; the PBO placebo arm uses the saline lot).

Created through the normal services (so they carry ordinary audit rows and the
release carries a real e-signature by the demo pharmacist). The certificate
values meet every default release criterion of ``reference/clinical.md`` §2.3
and are invented: this is not a real product.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.preparation import service
from exoneb.preparation.schemas import (
    LotReceiveIn,
    ProductLotIn,
    ProductReleaseIn,
    ReleaseIn,
    SalineLotIn,
)

DEMO_LOT = "DEMO-EV-0001"
DEMO_SALINE_LOT = "DEMO-NS-0001"
DEMO_SALBUTAMOL_LOT = "DEMO-SAL-0001"
DEMO_PMDI_LOT = "DEMO-QV-0001"


def seed_preparation(ctx: Ctx, settings: Settings) -> None:
    """Receive and release one exosome lot (6 vials × 1 mL) and record one saline lot.

    ``ctx`` must act as a pharmacist (receive, release and sign are theirs).
    """
    now = ctx.clock.now()
    lot = service.receive_lot(
        ctx=ctx,
        settings=settings,
        data=LotReceiveIn(
            protocol_id="demo-exo-01",
            product_name="MSC-EV inhalation suspension (demo)",
            manufacturer="Demo Biologics",
            lot_number=DEMO_LOT,
            certificate_id="COA-DEMO-0001",
            expires_at=now + timedelta(days=180),
            storage_min_c=-90.0,
            storage_max_c=-60.0,
            vial_count=6,
            volume_per_vial_ml=1.0,
            labelled_particles_per_ml=2.0e9,
            certified_particles_per_ml=2.1e9,
            concentration_method="NTA, NanoSight NS300",
            size_mode_nm=118.0,
            size_window_low_nm=50.0,
            size_window_high_nm=400.0,
            size_within_window_percent=94.0,
            protein_ug_per_ml=0.06,
            particle_protein_ratio_per_ug=3.5e10,
            markers={"CD9": True, "CD63": True, "CD81": True, "TSG101": True, "calnexin": False},
            sterility="negative",
            endotoxin_eu_per_ml=0.12,
            mycoplasma="negative",
            cell_tissue="umbilical cord",
            donor_code="D-DEMO-07",
            passage=4,
            cell_bank_id="WCB-DEMO-2",
        ),
    )
    service.release_lot(
        ctx=ctx,
        settings=settings,
        lot_id=lot.id,
        data=ReleaseIn(version=lot.version, password=settings.demo_password),
    )
    service.receive_saline_lot(
        ctx=ctx,
        data=SalineLotIn(
            manufacturer="Demo Pharma",
            lot_number=DEMO_SALINE_LOT,
            expires_at=now + timedelta(days=365),
            container_count=50,
            volume_per_container_ml=5.0,
        ),
    )
    for data in _comparator_lots(now + timedelta(days=300)):
        received = service.receive_product_lot(ctx=ctx, settings=settings, data=data)
        service.release_product_lot(
            ctx=ctx,
            settings=settings,
            lot_id=received.id,
            data=ProductReleaseIn(
                version=received.version,
                password=settings.demo_password,
                batch_matches=True,
                expiry_matches=True,
                identity_matches=True,
            ),
        )


def _comparator_lots(expires_at: datetime) -> tuple[ProductLotIn, ...]:
    """Label data of the comparator lots (demo values; strengths as in the demo protocol's
    sources: salbutamol 5 mg/mL solution, Qvar 100 at 100 µg per actuation)."""
    return (
        ProductLotIn(
            kind="drug",
            protocol_id="demo-exo-01",
            product_name="Salbutamol 5 mg/mL nebuliser solution (demo)",
            manufacturer="Demo Pharma",
            lot_number=DEMO_SALBUTAMOL_LOT,
            expires_at=expires_at,
            dosage_form="solution",
            strength_per_ml=5.0,
            strength_unit="mg",
            unit_count=10,
            volume_per_unit_ml=2.5,
            storage_min_c=2.0,
            storage_max_c=25.0,
        ),
        ProductLotIn(
            kind="drug",
            protocol_id="demo-exo-01",
            product_name="Qvar 100 beclomethasone dipropionate HFA pMDI (demo)",
            manufacturer="Demo Pharma",
            lot_number=DEMO_PMDI_LOT,
            expires_at=expires_at,
            dosage_form="inhaler",
            emitted_dose_ug=100.0,
            actuations_per_unit=200,
            unit_count=5,
        ),
    )
