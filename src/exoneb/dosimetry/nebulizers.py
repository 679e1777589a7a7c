"""Nebulizer catalog and the device chain: loaded → residual → emitted → inhaled.

The chain follows reference/dosimetry.md §5.2::

    emitted  = loaded · (1 − residual − device losses)
    residual = V_res / V_fill · c_res          (c_res > 1: the jet reservoir concentrates)
    inhaled  = emitted · s · η_if              (η_if: interface efficiency)

where ``s`` is the share of the emitted aerosol that is produced while the
patient breathes in: ``T_i / T_tot`` for continuous output (the rest is lost to
the room during exhalation), 1 for breath-actuated output, and
``r·T_i / (r·T_i + T_e)`` for a breath-enhanced jet whose output during
inhalation is ``r`` times that during exhalation.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from exoneb.dosimetry._data import read_data_text
from exoneb.dosimetry._validation import require_where
from exoneb.dosimetry.breathing import BreathingPattern
from exoneb.dosimetry.errors import DosimetryInputError

FloatArray = NDArray[np.float64]
Delivery = Literal["continuous", "breath-actuated", "breath-enhanced", "single-inhalation"]
DELIVERY_MODES: tuple[str, ...] = (
    "continuous",
    "breath-actuated",
    "breath-enhanced",
    "single-inhalation",
)
NEBULIZER_KINDS: tuple[str, ...] = ("vibrating-mesh", "jet", "breath-enhanced-jet", "ultrasonic")
#: Comparator inhalers: one actuation is inhaled in one breath (``delivery = "single-inhalation"``).
INHALER_KINDS: tuple[str, ...] = ("pmdi", "dpi")
DEVICE_KINDS: tuple[str, ...] = NEBULIZER_KINDS + INHALER_KINDS


@dataclass(frozen=True)
class Interface:
    """A patient interface: its delivery efficiency relative to a mouthpiece and its route."""

    name: str
    efficiency: float
    route: Literal["mouth", "nose"]
    source: str


@dataclass(frozen=True)
class NebulizerSpec:
    """One catalog device. See ``data/nebulizers.toml`` for each field's meaning and source."""

    id: str
    name: str
    kind: str
    delivery: str
    default_fill_ml: float
    output_rate_ml_min: float
    mmad_um: float
    gsd: float
    residual_ml: float
    residual_concentration_factor: float
    device_loss_fraction: float
    breath_enhancement: float
    interface: str
    intact_fraction: float
    heat_sensitive_warning: bool
    actuations: int = 1
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_inhaler(self) -> bool:
        """A pMDI or DPI: no reservoir, no output rate, one breath per actuation."""
        return self.delivery == "single-inhalation"

    def with_overrides(self, **overrides: Any) -> NebulizerSpec:
        """Return a copy with the given fields replaced (``None`` values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - set(self.__dataclass_fields__)
        if unknown:
            raise DosimetryInputError("override", sorted(unknown)[0], "a nebulizer field")
        return replace(self, **given)

    @property
    def warnings(self) -> list[str]:
        """Plain-language cautions a clinician should see with an estimate for this device."""
        notes = []
        if self.heat_sensitive_warning:
            notes.append(
                f"{self.name}: ultrasonic nebulizers heat the liquid; heat-sensitive biologics "
                "such as exosomes may be damaged (intact fraction is a low, unverified default)."
            )
        return notes


@lru_cache(maxsize=1)
def _catalog_document() -> dict[str, Any]:
    return tomllib.loads(read_data_text("nebulizers.toml"))


@lru_cache(maxsize=1)
def interfaces() -> dict[str, Interface]:
    """The patient interfaces known to the catalog."""
    doc = _catalog_document()["interfaces"]
    return {
        name: Interface(name, float(v["efficiency"]), v["route"], v["source"])
        for name, v in doc.items()
    }


@lru_cache(maxsize=1)
def nebulizer_catalog() -> dict[str, NebulizerSpec]:
    """All catalog devices by id (``data/nebulizers.toml``), validated."""
    devices: dict[str, NebulizerSpec] = {}
    for device_id, raw in _catalog_document()["devices"].items():
        values = dict(raw)
        sources = values.pop("sources", {})
        spec = NebulizerSpec(id=device_id, sources=dict(sources), **values)
        validate_spec(spec)
        devices[device_id] = spec
    return devices


def get_nebulizer(name: str) -> NebulizerSpec:
    """Look up a catalog device by id; an unknown name lists the known ones."""
    catalog = nebulizer_catalog()
    try:
        return catalog[name]
    except KeyError:
        raise DosimetryInputError(
            "nebulizer", name, "one of " + ", ".join(sorted(catalog))
        ) from None


def get_interface(name: str) -> Interface:
    """Look up a patient interface by name."""
    known = interfaces()
    try:
        return known[name]
    except KeyError:
        raise DosimetryInputError("interface", name, "one of " + ", ".join(sorted(known))) from None


def validate_spec(spec: NebulizerSpec) -> None:
    """Check one device's values (scalars) against their physical ranges."""
    if spec.kind not in DEVICE_KINDS:
        raise DosimetryInputError("kind", spec.kind, "one of " + ", ".join(DEVICE_KINDS))
    if (spec.kind in INHALER_KINDS) != (spec.delivery == "single-inhalation"):
        raise DosimetryInputError(
            "delivery", spec.delivery, '"single-inhalation" for inhalers (pMDI, DPI) only'
        )
    if spec.delivery not in DELIVERY_MODES:
        raise DosimetryInputError("delivery", spec.delivery, "one of " + ", ".join(DELIVERY_MODES))
    get_interface(spec.interface)


@dataclass(frozen=True)
class DeviceChainFractions:
    """Fractions of the loaded dose along the device chain, and the treatment time.

    ``residual + device_losses + interface_losses + lost_during_exhalation + inhaled == 1``.
    """

    residual: FloatArray
    device_losses: FloatArray
    emitted: FloatArray
    interface_losses: FloatArray
    lost_during_exhalation: FloatArray
    inhaled: FloatArray
    duration_min: FloatArray


def device_chain(
    *,
    fill_ml: ArrayLike,
    residual_ml: ArrayLike,
    residual_concentration_factor: ArrayLike,
    device_loss_fraction: ArrayLike,
    output_rate_ml_min: ArrayLike,
    delivery: str,
    breath_enhancement: ArrayLike,
    interface_efficiency: ArrayLike,
    breathing: BreathingPattern,
    actuations: int = 1,
) -> DeviceChainFractions:
    """Split the loaded dose between the device, the room and the patient's mouth or nose.

    Parameters
    ----------
    fill_ml : float or array
        Volume loaded in the reservoir, mL (> 0).
    residual_ml : float or array
        Volume left when output stops, mL (0 ≤ residual < fill).
    residual_concentration_factor : float or array
        Solute concentration of the residual relative to the fill (≥ 1 for jets).
    device_loss_fraction : float or array
        Share of the loaded dose deposited in the device outside the reservoir, [0, 1).
    output_rate_ml_min : float or array
        Liquid output while generating, mL/min (> 0).
    delivery : {"continuous", "breath-actuated", "breath-enhanced", "single-inhalation"}
        ``"single-inhalation"`` is a pMDI or DPI actuation inhaled in one breath: fill,
        residual and output rate do not apply (the dose is the ex-device dose less the
        device losses) and the treatment lasts ``actuations`` breath cycles.
    breath_enhancement : float or array
        Output during inhalation relative to exhalation (≥ 1; breath-enhanced only).
    interface_efficiency : float or array
        Fraction of the aerosol produced during inhalation that reaches the mouth or nose, (0, 1].
    breathing : BreathingPattern

    Returns
    -------
    DeviceChainFractions
    """
    if delivery not in DELIVERY_MODES:
        raise DosimetryInputError("delivery", delivery, "one of " + ", ".join(DELIVERY_MODES))
    if delivery == "single-inhalation":
        return _single_inhalation(device_loss_fraction, interface_efficiency, breathing, actuations)
    fill = require_where("fill_ml", fill_ml, lambda a: a > 0, "> 0 mL")
    residual = np.asarray(residual_ml, dtype=np.float64)
    residual_ok = (residual >= 0) & (residual < fill)
    if not np.all(residual_ok):
        fill_at = float(np.broadcast_to(fill, residual_ok.shape)[~residual_ok].flat[0])
        require_where(
            "residual_ml",
            residual,
            lambda _: residual_ok,
            f"from 0 mL to below the fill volume (fill_ml = {fill_at:g} mL)",
        )
    conc = require_where(
        "residual_concentration_factor", residual_concentration_factor, lambda a: a >= 1, "≥ 1"
    )
    loss = require_where(
        "device_loss_fraction", device_loss_fraction, lambda a: (a >= 0) & (a < 1), "0 to below 1"
    )
    rate = require_where("output_rate_ml_min", output_rate_ml_min, lambda a: a > 0, "> 0 mL/min")
    enh = require_where("breath_enhancement", breath_enhancement, lambda a: a >= 1, "≥ 1")
    eta = require_where(
        "interface_efficiency", interface_efficiency, lambda a: (a > 0) & (a <= 1), "(0, 1]"
    )

    residual_fraction = residual / fill * conc
    retained = residual_fraction + loss
    require_where(
        "residual_ml",
        residual,
        lambda _: retained < 1,
        "small enough that residual and device losses leave something to emit",
        "Check the fill volume, residual volume and device loss fraction.",
    )
    emitted = 1.0 - retained
    t_in, t_ex, period = breathing.inhalation_s, breathing.exhalation_s, breathing.period_s
    nebulized_ml = fill - residual
    if delivery == "continuous":
        share = t_in / period
        duration = nebulized_ml / rate
    elif delivery == "breath-actuated":
        share = np.ones_like(t_in)
        duration = nebulized_ml / (rate * t_in / period)
    else:
        share = enh * t_in / (enh * t_in + t_ex + breathing.breath_hold_s)
        duration = nebulized_ml / rate
    reaching_patient = emitted * share
    inhaled = reaching_patient * eta
    return DeviceChainFractions(
        residual=np.asarray(residual_fraction),
        device_losses=np.asarray(loss + 0.0 * emitted),
        emitted=np.asarray(emitted),
        interface_losses=np.asarray(reaching_patient - inhaled),
        lost_during_exhalation=np.asarray(emitted - reaching_patient),
        inhaled=np.asarray(inhaled),
        duration_min=np.asarray(duration),
    )


def _single_inhalation(
    device_loss_fraction: ArrayLike,
    interface_efficiency: ArrayLike,
    breathing: BreathingPattern,
    actuations: int,
) -> DeviceChainFractions:
    """The chain of an inhaler: device losses, then the whole emitted dose in one breath."""
    if not (isinstance(actuations, int) and actuations >= 1):
        raise DosimetryInputError("actuations", actuations, "an integer ≥ 1")
    loss = require_where(
        "device_loss_fraction", device_loss_fraction, lambda a: (a >= 0) & (a < 1), "0 to below 1"
    )
    eta = require_where(
        "interface_efficiency", interface_efficiency, lambda a: (a > 0) & (a <= 1), "(0, 1]"
    )
    emitted = (1.0 - loss) + 0.0 * breathing.period_s
    inhaled = emitted * eta
    zero = np.zeros_like(emitted)
    return DeviceChainFractions(
        residual=zero,
        device_losses=np.asarray(loss + zero),
        emitted=np.asarray(emitted),
        interface_losses=np.asarray(emitted - inhaled),
        lost_during_exhalation=zero.copy(),
        inhaled=np.asarray(inhaled),
        duration_min=np.asarray(actuations * breathing.period_s / 60.0),
    )
