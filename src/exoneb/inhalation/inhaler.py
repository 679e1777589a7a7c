"""Inhaler sessions (pMDI, DPI): counted actuations with a technique checklist. Pure.

Standard inhaled care given in clinic is often a pressurised metered-dose
inhaler (pMDI) or a dry-powder inhaler (DPI), not a nebulizer. An inhaler has
no reservoir: there is no fill volume, residual volume or output rate, and no
run time to plan (the dose engine refuses those inputs for its inhalers,
``exoneb.dosimetry`` catalog entries with ``delivery = "single-inhalation"``).
What staff supervise instead is N actuations, each inhaled in one breath, and
the technique of each: the dose reaching the lung depends on it.

- :class:`InhalerPlan` — what set-up fixes: actuations planned, the labelled
  emitted (ex-actuator) dose per actuation and its unit, and the planned
  breath-hold for the preview.
- :class:`Technique` — the checklist of one actuation (prepared: shaken/primed
  for a pMDI or dose loaded for a DPI; spacer; breathed out first; lips sealed;
  the inhalation manoeuvre done as instructed; breath-hold seconds). Every item
  must be answered — nothing defaults to "done".
- :func:`manoeuvre_breathing` — the inhaler manoeuvre as a breathing pattern
  for the dose engine: a slow deep inhalation for a pMDI, a fast forceful one
  for a DPI, then the breath-hold.
- :func:`technique_warnings` — the checklist items not done, in words, kept
  with the actuation and copied into the final estimate.

Manoeuvre values are those the dose engine's own tests and catalog use
(``reference/dosimetry.md`` §5.1; ``docs/dosimetry.md``): a 1.5 L breath over
3 s (30 L/min) with a 10 s hold for the pMDI reference case, and 60 L/min for
the Turbuhaler-class DPI, whose catalog droplet size was measured at that flow
(University of Huddersfield eprint 7173). The exhalation time and the 1.5 L
volume for the DPI are [design default]s.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from exoneb.inhalation.breathing import Breathing, BreathingSource
from exoneb.inhalation.errors import InvalidInput
from exoneb.inhalation.regimens import INHALER_KINDS, DoseUnit

__all__ = [
    "MAX_ACTUATIONS",
    "InhalerPlan",
    "Manoeuvre",
    "Technique",
    "check_technique",
    "inhaler_instructions",
    "is_inhaler_kind",
    "manoeuvre_breathing",
    "manoeuvre_for",
    "mean_breath_hold_s",
    "technique_warnings",
]

#: More actuations than this in one supervised session is a typing error, not a regimen
#: [design default]: high-dose bronchodilator protocols give up to 10 puffs per dose.
MAX_ACTUATIONS = 20

#: A breath-hold longer than this is not recordable [design default]; 10 s is the instruction.
MAX_BREATH_HOLD_S = 30.0


def is_inhaler_kind(kind: str) -> bool:
    """Whether a catalog device type is an inhaler (one actuation per breath)."""
    return kind in INHALER_KINDS


class Manoeuvre(StrEnum):
    """How the patient breathes in from the inhaler."""

    SLOW_DEEP = "slow-deep"  # pMDI: a slow deep breath started as the canister is pressed
    FAST_FORCEFUL = "fast-forceful"  # DPI: the breath itself disperses the powder

    @property
    def label(self) -> str:
        """As staff read it."""
        return {
            Manoeuvre.SLOW_DEEP: "slow, deep inhalation (about 3 s)",
            Manoeuvre.FAST_FORCEFUL: "fast, forceful inhalation from the start",
        }[self]


@dataclass(frozen=True, slots=True)
class _Shape:
    volume_ml: float
    inhalation_s: float
    exhalation_s: float


#: The breath of each manoeuvre (before the hold). See the module docstring for sources.
_SHAPES: Mapping[Manoeuvre, _Shape] = {
    Manoeuvre.SLOW_DEEP: _Shape(volume_ml=1500.0, inhalation_s=3.0, exhalation_s=2.0),
    Manoeuvre.FAST_FORCEFUL: _Shape(volume_ml=1500.0, inhalation_s=1.5, exhalation_s=2.0),
}


def manoeuvre_for(kind: str) -> Manoeuvre:
    """The manoeuvre an inhaler type needs: slow and deep for a pMDI, fast for a DPI."""
    if kind == "pmdi":
        return Manoeuvre.SLOW_DEEP
    if kind == "dpi":
        return Manoeuvre.FAST_FORCEFUL
    raise InvalidInput(f"A {kind} device is not an inhaler; it has no inhaler manoeuvre.")


def _hold(breath_hold_s: float) -> float:
    if not (math.isfinite(breath_hold_s) and 0 <= breath_hold_s <= MAX_BREATH_HOLD_S):
        raise InvalidInput(
            f"The breath-hold must be 0 to {MAX_BREATH_HOLD_S:g} seconds (got {breath_hold_s})."
        )
    return float(breath_hold_s)


def manoeuvre_breathing(
    manoeuvre: Manoeuvre, breath_hold_s: float, *, source: BreathingSource
) -> Breathing:
    """The inhaler manoeuvre as the dose engine's breathing pattern.

    One breath cycle = inhalation + hold + exhalation, so the rate is
    60 / cycle and the inspiratory fraction inhalation / cycle; the engine then
    sees exactly the breath of the manoeuvre with its hold.
    """
    shape = _SHAPES[manoeuvre]
    hold = _hold(breath_hold_s)
    cycle_s = shape.inhalation_s + hold + shape.exhalation_s
    flow_l_min = shape.volume_ml / 1000.0 / shape.inhalation_s * 60.0
    return Breathing(
        tidal_volume_ml=shape.volume_ml,
        breaths_per_min=60.0 / cycle_s,
        inspiratory_fraction=shape.inhalation_s / cycle_s,
        breath_hold_s=hold,
        source=source,
        label=f"Inhaler: {manoeuvre.label}, {shape.volume_ml:g} mL at {flow_l_min:g} L/min, "
        f"{hold:g} s breath-hold",
    )


@dataclass(frozen=True, slots=True)
class InhalerPlan:
    """What an inhaler session is set up to give.

    Attributes
    ----------
    kind : str
        ``"pmdi"`` or ``"dpi"``.
    actuations_planned : int
        Actuations (puffs, inhalations) prescribed for this session.
    dose_per_actuation : float
        The labelled emitted (ex-actuator) dose of one actuation, in ``dose_unit``.
    dose_unit : DoseUnit
    breath_hold_s : float
        The breath-hold planned for the preview estimate (10 s is the usual instruction).
    """

    kind: str
    actuations_planned: int
    dose_per_actuation: float
    dose_unit: DoseUnit
    breath_hold_s: float = 10.0

    def __post_init__(self) -> None:
        manoeuvre_for(self.kind)
        planned = self.actuations_planned
        if not (isinstance(planned, int) and 1 <= planned <= MAX_ACTUATIONS):
            raise InvalidInput(
                f"The actuations planned must be a whole number from 1 to {MAX_ACTUATIONS} "
                f"(got {self.actuations_planned})."
            )
        if not (math.isfinite(self.dose_per_actuation) and self.dose_per_actuation > 0):
            raise InvalidInput(
                "The emitted dose per actuation must be more than 0 "
                f"{self.dose_unit.value} (got {self.dose_per_actuation})."
            )
        _hold(self.breath_hold_s)

    @property
    def manoeuvre(self) -> Manoeuvre:
        """The manoeuvre of this inhaler type."""
        return manoeuvre_for(self.kind)

    @property
    def planned_dose(self) -> float:
        """Dose per actuation × actuations planned, in :attr:`dose_unit`."""
        return self.dose_per_actuation * self.actuations_planned

    def given_dose(self, actuations: int) -> float:
        """Dose per actuation × the actuations actually given."""
        return self.dose_per_actuation * actuations

    def preview_breathing(self) -> Breathing:
        """The manoeuvre with the planned breath-hold (a chosen pattern, not measured)."""
        return manoeuvre_breathing(
            self.manoeuvre, self.breath_hold_s, source=BreathingSource.CHOSEN
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON for the run row."""
        return {
            "kind": self.kind,
            "actuations_planned": self.actuations_planned,
            "dose_per_actuation": self.dose_per_actuation,
            "dose_unit": self.dose_unit.value,
            "breath_hold_s": self.breath_hold_s,
            "manoeuvre": self.manoeuvre.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InhalerPlan:
        """Rebuild a plan stored with :meth:`to_dict`."""
        return cls(
            kind=str(data["kind"]),
            actuations_planned=int(data["actuations_planned"]),
            dose_per_actuation=float(data["dose_per_actuation"]),
            dose_unit=DoseUnit(data["dose_unit"]),
            breath_hold_s=float(data["breath_hold_s"]),
        )


@dataclass(frozen=True, slots=True)
class Technique:
    """The technique checklist of one actuation, as the supervisor saw it.

    Attributes
    ----------
    prepared : bool
        pMDI: shaken (and primed if new or unused); DPI: the dose loaded, device upright.
    spacer : bool
        A spacer or valved holding chamber was used (pMDI only).
    exhaled_before : bool
        Breathed out fully, away from the mouthpiece, before the actuation.
    seal : bool
        Lips sealed around the mouthpiece (or the spacer's).
    manoeuvre_done : bool
        The inhalation was done as instructed for the device (:class:`Manoeuvre`).
    breath_hold_s : float
        Seconds the breath was held after the inhalation.
    """

    prepared: bool
    spacer: bool
    exhaled_before: bool
    seal: bool
    manoeuvre_done: bool
    breath_hold_s: float

    def __post_init__(self) -> None:
        _hold(self.breath_hold_s)

    def to_dict(self) -> dict[str, Any]:
        """JSON for the actuation event."""
        return {
            "prepared": self.prepared,
            "spacer": self.spacer,
            "exhaled_before": self.exhaled_before,
            "seal": self.seal,
            "manoeuvre_done": self.manoeuvre_done,
            "breath_hold_s": self.breath_hold_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Technique:
        """Rebuild a checklist stored with :meth:`to_dict`."""
        return cls(
            prepared=bool(data["prepared"]),
            spacer=bool(data["spacer"]),
            exhaled_before=bool(data["exhaled_before"]),
            seal=bool(data["seal"]),
            manoeuvre_done=bool(data["manoeuvre_done"]),
            breath_hold_s=float(data["breath_hold_s"]),
        )


def check_technique(kind: str, technique: Technique) -> Technique:
    """Refuse what cannot be true for the device type (a spacer on a DPI); return it."""
    manoeuvre_for(kind)
    if kind == "dpi" and technique.spacer:
        raise InvalidInput(
            "A dry-powder inhaler is not used with a spacer; check the device or the checklist."
        )
    return technique


def technique_warnings(kind: str, number: int, technique: Technique) -> tuple[str, ...]:
    """The checklist items not done for actuation ``number``, as sentences for the record."""
    prepared = "shaken or primed" if kind == "pmdi" else "loaded"
    manoeuvre = manoeuvre_for(kind).label
    missing = [
        (technique.prepared, f"the inhaler was not {prepared}"),
        (technique.exhaled_before, "the patient did not breathe out first"),
        (technique.seal, "the lips were not sealed around the mouthpiece"),
        (technique.manoeuvre_done, f"the inhalation was not a {manoeuvre}"),
    ]
    notes = [f"Actuation {number}: {text}." for done, text in missing if not done]
    if technique.spacer:
        notes.append(
            f"Actuation {number}: a spacer was used; the model does not include it (a valved "
            "holding chamber changes the fine-particle dose by 7–47 % depending on the brand, "
            "Berlinski 2017, reference/dosimetry.md §5.1)."
        )
    return tuple(notes)


def mean_breath_hold_s(techniques: Sequence[Technique]) -> float:
    """The mean breath-hold of the actuations given, for the final estimate's one breath."""
    if not techniques:
        raise InvalidInput("No actuation was given: there is no delivered dose to estimate.")
    return float(statistics.fmean(t.breath_hold_s for t in techniques))


#: Shown before start for each inhaler type [design default, the usual patient instructions].
_INSTRUCTIONS: Mapping[str, tuple[str, ...]] = {
    "pmdi": (
        "Sit or stand upright.",
        "Shake the inhaler; if it is new or has not been used for a while, prime it.",
        "Breathe out fully, away from the mouthpiece.",
        "Seal the lips around the mouthpiece (or the spacer's).",
        "Press the canister as you start a slow, deep breath in (about 3 seconds).",
        "Hold the breath for about 10 seconds, or as long as comfortable; then breathe out.",
        "Wait about 30 seconds before the next puff.",
    ),
    "dpi": (
        "Sit or stand upright; keep the inhaler upright while loading the dose.",
        "Breathe out fully, away from the mouthpiece (never into the inhaler).",
        "Seal the lips around the mouthpiece.",
        "Breathe in fast and forcefully from the start, as deeply as possible.",
        "Hold the breath for about 10 seconds, or as long as comfortable; then breathe out.",
    ),
}


def inhaler_instructions(kind: str) -> tuple[str, ...]:
    """The technique to explain before the first actuation."""
    manoeuvre_for(kind)
    return (
        *_INSTRUCTIONS[kind],
        "Stop and tell the nurse if you cough a lot, feel short of breath or feel unwell.",
    )
