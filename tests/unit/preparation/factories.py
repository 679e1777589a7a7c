"""Builders for the preparation tests: a certificate that passes every default criterion."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from exoneb.preparation.rules import CertificateOfAnalysis, QualitativeResult, StorageRange

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
"""A fixed Monday-morning instant; tests pass times explicitly and never read the clock."""

GOOD_MARKERS = {"CD9": True, "CD63": True, "CD81": True, "TSG101": True, "calnexin": False}


def make_coa(**overrides: Any) -> CertificateOfAnalysis:
    """A certificate meeting every default release criterion, with fields overridden."""
    coa = CertificateOfAnalysis(
        manufacturer="Demo Biologics",
        lot_number="EV-0001",
        certificate_id="COA-0001",
        expires_at=T0 + timedelta(days=180),
        storage=StorageRange(-90.0, -60.0),
        vial_count=4,
        volume_per_vial_ml=1.0,
        labelled_particles_per_ml=2.0e9,
        certified_particles_per_ml=2.1e9,
        concentration_method="NTA, NanoSight NS300",
        size_mode_nm=120.0,
        size_window_nm=(50.0, 400.0),
        size_within_window_percent=95.0,
        protein_ug_per_ml=0.05,
        particle_protein_ratio_per_ug=4.2e10,
        markers=dict(GOOD_MARKERS),
        sterility=QualitativeResult.NEGATIVE,
        endotoxin_eu_per_ml=0.1,
        mycoplasma=QualitativeResult.NEGATIVE,
        cell_tissue="umbilical cord",
        donor_code="D-017",
        passage=4,
        cell_bank_id="WCB-2",
    )
    return replace(coa, **overrides)
