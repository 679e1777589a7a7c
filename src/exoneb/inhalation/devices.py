"""The nebulizer register, checked against the dose engine's catalog.

A clinic records each device it uses (make, model, type, serial or lot, the
patient interface, and whether the model has been validated with this product;
``reference/clinical.md`` §2.5). The dose engine knows devices only by catalog
id (``exoneb.dosimetry.nebulizer_catalog()``), with their aerosol size, output
rate and residual volume. :func:`check_device` links the two: it says which
catalog device supplies the aerosol values for a register entry, and which
warnings the nurse and the physician must see. Nothing here duplicates the
catalog: kinds, interfaces and the heat warning are read from it, so a device
added to the catalog is known here without a code change.

Mapping rules (in order):

1. An explicit ``catalog_id`` on the entry wins; it must exist and be of the
   same type as the entry.
2. Otherwise make + model (or model alone) is compared with the catalog
   names, ignoring case, punctuation and any text in parentheses; each
   ``" / "``- or comma-separated part of a catalog name is an alias
   ("Aerogen Solo / Aeroneb Pro").
3. Otherwise the catalog's generic device of the same type (id ending in
   ``-generic``) is used, with a warning that its values are generic.
4. Otherwise the entry is not mapped (``catalog_id`` is ``None``): the device
   may be registered, but no dose estimate can be made until a catalog device
   is chosen for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from exoneb.dosimetry import NebulizerSpec, interfaces, nebulizer_catalog
from exoneb.inhalation.errors import (
    DeviceKindMismatch,
    InvalidInput,
    UnknownCatalogDevice,
    UnknownInterface,
)

__all__ = [
    "CatalogMatch",
    "DeviceCheck",
    "DeviceEntry",
    "DeviceSettings",
    "DeviceWarning",
    "WarningCode",
    "catalog_kinds",
    "check_device",
    "check_interface",
]


class WarningCode(StrEnum):
    """Stable identifiers of device warnings (pages style them, tests assert them)."""

    HEAT_SENSITIVE = "device.heat_sensitive_product"
    NOT_VALIDATED = "device.not_validated_with_product"
    INTERFACE_MISMATCH = "device.interface_mismatch"
    INTERFACE_NOT_CATALOGUED = "device.interface_differs_from_catalog"
    GENERIC_VALUES = "device.generic_catalog_values"
    NOT_IN_CATALOG = "device.not_in_catalog"


@dataclass(frozen=True, slots=True)
class DeviceWarning:
    """One caution to show beside the device (and copied into the dose estimate).

    Attributes
    ----------
    code : WarningCode
    message : str
        A sentence for the nurse or physician.
    """

    code: WarningCode
    message: str


def catalog_kinds() -> frozenset[str]:
    """The device types present in the dose engine's catalog (e.g. ``"vibrating-mesh"``).

    Read from the catalog rather than listed here, so that new kinds the dose
    engine adds (pressurised metered-dose or dry-powder inhalers) are accepted
    by the register and by regimens without changing this module.
    """
    return frozenset(spec.kind for spec in nebulizer_catalog().values())


def check_interface(name: str) -> str:
    """Return ``name`` if the dose engine knows the interface; refuse it otherwise.

    A bare ``"mask"`` is refused on purpose: a valved mask and an open aerosol
    mask deliver very different shares of the aerosol (0.98 vs 0.49 of a
    mouthpiece in the catalog), so the register must say which.
    """
    known = interfaces()
    if name in known:
        return name
    choices = ", ".join(f"{n} ({i.efficiency:g} of a mouthpiece)" for n, i in sorted(known.items()))
    if name.strip().lower() == "mask":
        raise UnknownInterface(
            f"Say which mask is used: {choices}. The two masks deliver very different amounts."
        )
    raise UnknownInterface(f"The interface {name!r} is not known. Choose one of: {choices}.")


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """One device in the clinic's register (``reference/clinical.md`` §2.5).

    Attributes
    ----------
    make, model : str
        As printed on the device (e.g. ``"Aerogen"``, ``"Solo"``).
    kind : str
        Nebulizer type, one of :func:`catalog_kinds` (e.g. ``"vibrating-mesh"``, ``"jet"``).
    serial_or_lot : str
        Serial number of a reusable device, or lot of a single-patient one.
    interface : str
        The patient interface used with it: ``"mouthpiece"``, ``"valved-mask"`` or
        ``"open-aerosol-mask"`` (the dose engine's names).
    validated_with_product : bool
        Whether this model has been validated with this product (aerosol size and
        vesicle integrity measured after nebulization).
    catalog_id : str or None
        The catalog device supplying the aerosol values, when chosen explicitly.
    """

    make: str
    model: str
    kind: str
    serial_or_lot: str
    interface: str
    validated_with_product: bool
    catalog_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("make", "model", "serial_or_lot"):
            if not getattr(self, name).strip():
                raise InvalidInput(f"The device's {name.replace('_', ' ')} must not be blank.")
        kinds = catalog_kinds()
        if self.kind not in kinds:
            raise InvalidInput(
                f"The device type {self.kind!r} is not known. Choose one of: "
                + ", ".join(sorted(kinds))
                + "."
            )
        check_interface(self.interface)


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """What the dose engine needs to know about the device for one session.

    ``None`` means "use the catalog value". Overrides are values measured for
    this product in this device (they replace manufacturer or literature figures).

    Attributes
    ----------
    catalog_id : str
    interface : str or None
    mmad_um, gsd : float or None
        Aerodynamic size distribution of the droplets measured with this product.
    output_rate_ml_min : float or None
    intact_fraction : float or None
        Share of vesicles intact after nebulization, measured for this product.
    """

    catalog_id: str
    interface: str | None = None
    mmad_um: float | None = None
    gsd: float | None = None
    output_rate_ml_min: float | None = None
    intact_fraction: float | None = None

    def __post_init__(self) -> None:
        _catalog_spec(self.catalog_id)
        if self.interface is not None:
            check_interface(self.interface)
        for name in ("mmad_um", "gsd", "output_rate_ml_min", "intact_fraction"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InvalidInput(f"The device's {name} must be a finite number (got {value}).")

    @property
    def spec(self) -> NebulizerSpec:
        """The catalog device with this session's overrides applied."""
        return _catalog_spec(self.catalog_id).with_overrides(
            mmad_um=self.mmad_um,
            gsd=self.gsd,
            output_rate_ml_min=self.output_rate_ml_min,
            intact_fraction=self.intact_fraction,
            interface=self.interface,
        )

    def engine_arguments(self) -> dict[str, str | float]:
        """The device part of a ``deposit()`` call (catalog values are left to the engine)."""
        args: dict[str, str | float] = {"nebulizer": self.catalog_id}
        for name in ("interface", "mmad_um", "gsd", "output_rate_ml_min", "intact_fraction"):
            value = getattr(self, name)
            if value is not None:
                args[name] = value
        return args


@dataclass(frozen=True, slots=True)
class CatalogMatch:
    """How a register entry was linked to the catalog.

    Attributes
    ----------
    catalog_id : str or None
    how : str
        ``"given"``, ``"make and model"``, ``"generic of the same type"`` or ``"none"``.
    """

    catalog_id: str | None
    how: str


@dataclass(frozen=True, slots=True)
class DeviceCheck:
    """The result of checking a register entry against the catalog.

    Attributes
    ----------
    entry : DeviceEntry
    match : CatalogMatch
    warnings : tuple of DeviceWarning
    """

    entry: DeviceEntry
    match: CatalogMatch
    warnings: tuple[DeviceWarning, ...]

    @property
    def catalog_id(self) -> str | None:
        """The catalog device supplying the aerosol values (``None`` when unmapped)."""
        return self.match.catalog_id

    @property
    def warning_codes(self) -> frozenset[WarningCode]:
        """The codes of :attr:`warnings`, for quick tests on the page."""
        return frozenset(w.code for w in self.warnings)

    def settings(self) -> DeviceSettings:
        """Dose-engine settings for this device (catalog id and the registered interface)."""
        if self.catalog_id is None:
            raise UnknownCatalogDevice(
                f"{self.entry.make} {self.entry.model} has no catalog device, so no dose "
                "estimate can be made. Choose the closest catalog device in the register."
            )
        return DeviceSettings(catalog_id=self.catalog_id, interface=self.entry.interface)


def _catalog_spec(catalog_id: str) -> NebulizerSpec:
    catalog = nebulizer_catalog()
    try:
        return catalog[catalog_id]
    except KeyError:
        raise UnknownCatalogDevice(
            f"The catalog has no device {catalog_id!r}. Known devices: "
            + ", ".join(sorted(catalog))
            + "."
        ) from None


def _normalise(text: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", text.lower())
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def _aliases(spec: NebulizerSpec) -> set[str]:
    parts = re.split(r" / |,", spec.name)
    return {_normalise(part) for part in parts} - {""}


def _match(entry: DeviceEntry) -> CatalogMatch:
    catalog = nebulizer_catalog()
    if entry.catalog_id is not None:
        spec = _catalog_spec(entry.catalog_id)
        _require_same_kind(entry, spec)
        return CatalogMatch(spec.id, "given")
    wanted = {_normalise(f"{entry.make} {entry.model}"), _normalise(entry.model)}
    for spec in catalog.values():
        if wanted & _aliases(spec):
            _require_same_kind(entry, spec)
            return CatalogMatch(spec.id, "make and model")
    for spec in catalog.values():
        if spec.id.endswith("-generic") and spec.kind == entry.kind:
            return CatalogMatch(spec.id, "generic of the same type")
    return CatalogMatch(None, "none")


def _require_same_kind(entry: DeviceEntry, spec: NebulizerSpec) -> None:
    if spec.kind != entry.kind:
        raise DeviceKindMismatch(
            f"The register says {entry.make} {entry.model} is a {entry.kind} nebulizer, but the "
            f"catalog device {spec.name} ({spec.id}) is {spec.kind}. Correct the type or choose "
            "another catalog device."
        )


def check_device(
    entry: DeviceEntry,
    *,
    heat_sensitive_product: bool,
    interface_used: str | None = None,
) -> DeviceCheck:
    """Link a register entry to the catalog and list the warnings to show with it.

    Parameters
    ----------
    entry : DeviceEntry
    heat_sensitive_product : bool
        Whether the product nebulized is damaged by heat (exosomes and cells are;
        saline is not — see :attr:`Regimen.heat_sensitive`).
    interface_used : str, optional
        The interface actually fitted for this session, when it differs from the
        registered one.

    Returns
    -------
    DeviceCheck

    Raises
    ------
    UnknownCatalogDevice
        The explicit ``catalog_id`` is not in the catalog.
    DeviceKindMismatch
        The catalog device found is of another type than the register says.
    UnknownInterface
        ``interface_used`` is not a catalog interface.
    """
    match = _match(entry)
    spec = None if match.catalog_id is None else nebulizer_catalog()[match.catalog_id]
    warnings: list[DeviceWarning] = []
    name = f"{entry.make} {entry.model}"

    heats = (
        spec.heat_sensitive_warning
        if spec is not None
        else any(
            s.heat_sensitive_warning for s in nebulizer_catalog().values() if s.kind == entry.kind
        )
    )
    if heats and heat_sensitive_product:
        assumed = (
            ""
            if spec is None
            else f" The dose estimate assumes {spec.intact_fraction:.0%} of vesicles stay "
            "intact, an unverified default."
        )
        warnings.append(
            DeviceWarning(
                WarningCode.HEAT_SENSITIVE,
                f"{name} is {entry.kind}: this type heats the liquid in its reservoir, and a "
                f"heat-sensitive biological product such as exosomes may be damaged.{assumed}",
            )
        )
    if not entry.validated_with_product:
        # An inhaler carries its own drug: only its aerosol size is assumed, not vesicle integrity.
        assumed = (
            f"its aerosol size is the catalog value for {spec.name}, not a measurement"
            if spec is not None and spec.is_inhaler
            else "droplet size and vesicle integrity are catalog assumptions, not measurements"
        )
        warnings.append(
            DeviceWarning(
                WarningCode.NOT_VALIDATED,
                f"{name} has not been validated with this product: {assumed}.",
            )
        )
    if match.how == "generic of the same type":
        warnings.append(
            DeviceWarning(
                WarningCode.GENERIC_VALUES,
                f"{name} is not in the catalog; the dose estimate uses generic {entry.kind} "
                f"values ({match.catalog_id}).",
            )
        )
    if match.catalog_id is None:
        warnings.append(
            DeviceWarning(
                WarningCode.NOT_IN_CATALOG,
                f"{name} is not in the catalog and there is no generic {entry.kind} device: "
                "choose the closest catalog device before a dose can be estimated.",
            )
        )
    warnings.extend(_interface_warnings(entry, spec, interface_used))
    return DeviceCheck(entry=entry, match=match, warnings=tuple(warnings))


def _interface_warnings(
    entry: DeviceEntry, spec: NebulizerSpec | None, interface_used: str | None
) -> list[DeviceWarning]:
    notes: list[DeviceWarning] = []
    name = f"{entry.make} {entry.model}"
    if interface_used is not None and check_interface(interface_used) != entry.interface:
        notes.append(
            DeviceWarning(
                WarningCode.INTERFACE_MISMATCH,
                f"{name} is registered with a {entry.interface}, but a {interface_used} is "
                "fitted for this session. Check the interface, and record the one actually used.",
            )
        )
    if spec is not None and spec.interface != entry.interface:
        efficiency = interfaces()[entry.interface].efficiency
        notes.append(
            DeviceWarning(
                WarningCode.INTERFACE_NOT_CATALOGUED,
                f"The catalog values for {spec.name} were measured with a {spec.interface}; with "
                f"a {entry.interface} the model assumes {efficiency:g} of the mouthpiece delivery.",
            )
        )
    return notes
