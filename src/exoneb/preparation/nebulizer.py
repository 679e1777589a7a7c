"""Which nebulizers a dose may be prepared for, and their fill limits. Pure code.

The dose engine's catalog (``exoneb.dosimetry.nebulizer_catalog()``) knows each
device's residual volume but not the smallest and largest fill its maker
allows, so the fill limits applied here are the range of fill volumes used by
the published EV inhalation trials (``reference/clinical.md`` §3.1: 1.5 mL in
EXO-CD24 IIb to 5 mL in NCT05808400). A fill outside that range has no
clinical precedent for this product, whatever the device would take; the
residual volume is the catalog's, so residual compensation and the expected
emitted dose use the same number as the lung-dose estimate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from exoneb.dosimetry import nebulizer_catalog
from exoneb.preparation.dose import NebulizerFill
from exoneb.preparation.errors import InvalidInput

__all__ = [
    "FILL_LIMITS_SOURCE",
    "MAX_FILL_ML",
    "MIN_FILL_ML",
    "NebulizerChoice",
    "nebulizer_choices",
    "nebulizer_fill",
]

MIN_FILL_ML = 1.5
MAX_FILL_ML = 5.0
FILL_LIMITS_SOURCE = (
    "reference/clinical.md §3.1: EV trials filled 1.5 mL (EXO-CD24 IIb) to 5 mL (NCT05808400) "
    "[source]; applied to every catalog nebulizer until its own limits are recorded "
    "[design default]"
)


@dataclass(frozen=True, slots=True)
class NebulizerChoice:
    """A catalog nebulizer a dose may be prepared for."""

    key: str
    name: str
    kind: str
    residual_ml: float


def nebulizer_choices(allowed_kinds: Iterable[str]) -> list[NebulizerChoice]:
    """Catalog nebulizers (not inhalers) of the kinds the protocol allows, by name."""
    kinds = frozenset(allowed_kinds)
    return sorted(
        (
            NebulizerChoice(spec.id, spec.name, spec.kind, spec.residual_ml)
            for spec in nebulizer_catalog().values()
            if not spec.is_inhaler and spec.kind in kinds
        ),
        key=lambda c: c.name,
    )


def nebulizer_fill(key: str, allowed_kinds: Iterable[str] | None = None) -> NebulizerFill:
    """The fill limits and residual volume of catalog nebulizer ``key``.

    Raises
    ------
    InvalidInput
        The key is not a catalog nebulizer, or its kind is not allowed.
    """
    spec = nebulizer_catalog().get(key)
    if spec is None or spec.is_inhaler:
        raise InvalidInput(
            f"{key!r} is not a nebulizer of the catalog; choose one from the list.",
            field="nebulizer_key",
        )
    if allowed_kinds is not None and spec.kind not in frozenset(allowed_kinds):
        raise InvalidInput(
            f"The protocol does not allow {spec.kind} nebulizers ({spec.name}).",
            field="nebulizer_key",
        )
    return NebulizerFill(spec.name, MIN_FILL_ML, MAX_FILL_ML, spec.residual_ml)
