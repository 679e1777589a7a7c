"""Rescue medication given during monitoring: what counts as a SABA, and what a record needs.

clinical.md §4.2 [design default]: an FEV1 fall classed as airway reactivity is
treated with "protocol rescue (SABA)", and the stopping rule counts "any fall
not returning to ≤10 % below baseline within 30 min after SABA". So the time a
short-acting β2-agonist was *given* is an input of that rule; it is recorded
as a record (drug, dose and unit, route, time, by whom), not ticked as a flag.

Pure: no clock (``now`` is passed), no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from exoneb.monitoring.observations import require_aware

__all__ = [
    "DRUG_LABELS",
    "DoseUnit",
    "RescueDrug",
    "RescueGiven",
    "RescueRoute",
    "drug_class",
    "first_saba_at",
]


class RescueDrug(StrEnum):
    """Drugs offered on the form; ``other`` needs its name."""

    SALBUTAMOL = "salbutamol"  # = albuterol (USAN)
    LEVOSALBUTAMOL = "levosalbutamol"  # = levalbuterol
    TERBUTALINE = "terbutaline"
    IPRATROPIUM = "ipratropium"
    EPINEPHRINE = "epinephrine"
    OTHER = "other"


#: The short-acting β2-agonists among them (the "SABA" of clinical.md §4.2).
SABA_DRUGS = frozenset({RescueDrug.SALBUTAMOL, RescueDrug.LEVOSALBUTAMOL, RescueDrug.TERBUTALINE})

DRUG_LABELS: dict[RescueDrug, str] = {
    RescueDrug.SALBUTAMOL: "Salbutamol (albuterol) — SABA",
    RescueDrug.LEVOSALBUTAMOL: "Levosalbutamol (levalbuterol) — SABA",
    RescueDrug.TERBUTALINE: "Terbutaline — SABA",
    RescueDrug.IPRATROPIUM: "Ipratropium (SAMA)",
    RescueDrug.EPINEPHRINE: "Epinephrine (adrenaline)",
    RescueDrug.OTHER: "Other — specify",
}


class DoseUnit(StrEnum):
    """Units a rescue dose is written in (``ug`` = micrograms, ASCII for CSV/JSON)."""

    UG = "ug"
    MG = "mg"


class RescueRoute(StrEnum):
    """How it was given."""

    INHALED_MDI = "inhaled_mdi"  # metered-dose inhaler (with spacer)
    NEBULIZED = "nebulized"
    INTRAMUSCULAR = "intramuscular"
    INTRAVENOUS = "intravenous"
    SUBCUTANEOUS = "subcutaneous"
    ORAL = "oral"


def drug_class(drug: RescueDrug) -> str:
    """``saba`` for a short-acting β2-agonist, else ``other``.

    A drug typed in under "other" is never counted as a SABA: the stopping
    rule's clock must not start on a guess from free text.
    """
    return "saba" if drug in SABA_DRUGS else "other"


@dataclass(frozen=True, slots=True)
class RescueGiven:
    """One rescue medication as given; validated on construction."""

    drug: RescueDrug
    dose_amount: float
    dose_unit: DoseUnit
    route: RescueRoute
    given_at: datetime
    drug_other: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.given_at, "given_at")
        if not math.isfinite(self.dose_amount) or self.dose_amount <= 0:
            raise ValueError(f"dose_amount must be a positive number (got {self.dose_amount}).")
        if self.drug is RescueDrug.OTHER and not (self.drug_other or "").strip():
            raise ValueError("drug_other is needed: name the drug given.")
        if self.drug is not RescueDrug.OTHER and (self.drug_other or "").strip():
            raise ValueError("drug_other is only for drug 'other'.")

    @property
    def is_saba(self) -> bool:
        """Whether this starts the SABA recovery clock of the stopping rule."""
        return drug_class(self.drug) == "saba"

    def check_time(self, now: datetime, not_before: datetime | None) -> None:
        """Refuse a time in the future (5 min clock tolerance) or before the session began."""
        if self.given_at > require_aware(now, "now") + timedelta(minutes=5):
            raise ValueError("given_at is in the future.")
        if not_before is not None and self.given_at < require_aware(not_before, "not_before"):
            raise ValueError(
                f"given_at is before the start of nebulization ({not_before.isoformat()})."
            )


def first_saba_at(given: Sequence[tuple[str, datetime]]) -> datetime | None:
    """The earliest time a SABA was given, from (drug_class, given_at) pairs; None if never."""
    times = [require_aware(at, "given_at") for cls, at in given if cls == "saba"]
    return min(times) if times else None
