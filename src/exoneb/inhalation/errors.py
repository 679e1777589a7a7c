"""Refusals raised by the inhalation rules, written for the nurse at the nebulizer.

Hierarchy (each class has a stable ``code`` the service and the API can map,
e.g. to a 409 or a 422, without parsing the message)::

    core.errors.DomainError + ValueError      status 422 unless marked 409
     └── InhalationError                      inhalation.error
         ├── InvalidInput                     inhalation.invalid_input
         ├── UnknownCatalogDevice             device.unknown_catalog_id
         ├── UnknownInterface                 device.unknown_interface
         ├── DeviceKindMismatch               device.kind_mismatch
         ├── DeviceNotAllowed                 regimen.device_not_allowed    409
         ├── UnknownRegimen                   regimen.unknown
         ├── DoseNotAllowed                   regimen.dose_not_allowed
         ├── RunTransitionRefused             run.transition_refused        409
         │   ├── PreparationNotVerified       run.preparation_not_verified
         │   ├── SupervisorAbsent             run.supervisor_absent
         │   └── RunAlreadyStopped            run.already_stopped
         ├── ReasonRequired                   run.reason_required
         ├── TimeWentBackwards                run.time_went_backwards       409
         ├── ResidualExceedsFill              run.residual_exceeds_fill
         └── DoseModelRefused                 estimate.model_input_refused

They subclass both :class:`exoneb.core.errors.DomainError` (a plain-Python
module with no web or database import) and :class:`ValueError`: the web layer
maps each to its HTTP status without a translation table — 422 when a value
must be corrected, 409 when the run's state or the regimen forbids the action
now — while pure callers can keep catching ``ValueError``. Every
message says what is wrong *and* what to do, because the person reading it is
beside a patient, not reading code. Nothing is clamped or skipped silently.
"""

from __future__ import annotations

from typing import Any, ClassVar

from exoneb.core.errors import DomainError
from exoneb.dosimetry import DosimetryInputError

__all__ = [
    "DeviceKindMismatch",
    "DeviceNotAllowed",
    "DoseModelRefused",
    "DoseNotAllowed",
    "InhalationError",
    "InvalidInput",
    "PreparationNotVerified",
    "ReasonRequired",
    "ResidualExceedsFill",
    "RunAlreadyStopped",
    "RunTransitionRefused",
    "SupervisorAbsent",
    "TimeWentBackwards",
    "UnknownCatalogDevice",
    "UnknownInterface",
    "UnknownRegimen",
]


class InhalationError(DomainError, ValueError):
    """Base of every refusal in step 3 (devices, regimens, the run, the dose estimate).

    Parameters
    ----------
    message : str
        One or two sentences for the nurse: what is wrong and what to do.

    Attributes
    ----------
    code : str
        Stable machine-readable identifier (class attribute), so callers and
        tests do not depend on the wording of the message.
    message : str
        The message as given.
    """

    code: ClassVar[str] = "inhalation.error"
    status_code = 422


class InvalidInput(InhalationError):
    """A value given to the rules is impossible (negative, not finite, naive time, blank)."""

    code = "inhalation.invalid_input"


class UnknownCatalogDevice(InhalationError):
    """The catalog id named for a device is not in the dose engine's catalog."""

    code = "device.unknown_catalog_id"


class UnknownInterface(InhalationError):
    """The patient interface is not one the dose engine knows (or is too vague, e.g. "mask")."""

    code = "device.unknown_interface"


class DeviceKindMismatch(InhalationError):
    """The register says one nebulizer type, the catalog device it maps to is another."""

    code = "device.kind_mismatch"


class DeviceNotAllowed(InhalationError):
    """The device type is not allowed for the session's regimen."""

    code = "regimen.device_not_allowed"
    status_code = 409


class UnknownRegimen(InhalationError):
    """No regimen has the identifier given."""

    code = "regimen.unknown"


class DoseNotAllowed(InhalationError):
    """The loaded dose does not fit the regimen (e.g. vesicles in the saline arm)."""

    code = "regimen.dose_not_allowed"


class RunTransitionRefused(InhalationError):
    """The nebulization run cannot do what was asked from its current state."""

    code = "run.transition_refused"
    status_code = 409


class PreparationNotVerified(RunTransitionRefused):
    """The run cannot start: the prepared dose has not been verified by a second person."""

    code = "run.preparation_not_verified"


class SupervisorAbsent(RunTransitionRefused):
    """The run cannot start: no trained supervisor is recorded as present."""

    code = "run.supervisor_absent"


class RunAlreadyStopped(RunTransitionRefused):
    """The run was stopped; it cannot be started, paused or resumed again."""

    code = "run.already_stopped"


class ReasonRequired(InhalationError):
    """A pause or a stop needs a reason from the list (and words for "other")."""

    code = "run.reason_required"


class TimeWentBackwards(InhalationError):
    """An event is timed before the run's last recorded event."""

    code = "run.time_went_backwards"
    status_code = 409


class ResidualExceedsFill(InhalationError):
    """The residual volume measured is more than was put into the nebulizer."""

    code = "run.residual_exceeds_fill"


class DoseModelRefused(InhalationError):
    """The dose engine refused an input; keeps its field, value and accepted range.

    Parameters
    ----------
    message : str
    field : str
        The dose-engine argument that was refused (e.g. ``"height_cm"``).
    value : Any
        The value given.
    expected : str
        The accepted range or set, in words.
    """

    code = "estimate.model_input_refused"

    def __init__(self, message: str, *, field: str, value: Any, expected: str) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.expected = expected

    @classmethod
    def from_engine(cls, error: DosimetryInputError) -> DoseModelRefused:
        """Translate a dose-engine refusal, keeping its field, value and accepted range.

        The engine names its arguments (``residual_ml``); the nurse knows them as
        "residual volume", so both are given.
        """
        label = _FIELD_LABELS.get(error.field, error.field.replace("_", " "))
        message = (
            f"The dose model cannot use this {label} ({error.field} = {error.value!r}): "
            f"expected {error.expected}."
        )
        if error.hint:
            message += f" {error.hint}"
        return cls(message, field=error.field, value=error.value, expected=error.expected)


_FIELD_LABELS = {
    "fill_ml": "fill volume",
    "residual_ml": "residual volume",
    "output_rate_ml_min": "output rate",
    "tidal_volume_ml": "tidal volume",
    "breaths_per_min": "breathing rate",
    "inspiratory_fraction": "share of each breath spent breathing in",
    "breath_hold_s": "breath-hold",
    "height_cm": "height",
    "age_years": "age",
    "frc_ml": "functional residual capacity (FRC)",
    "sex": "sex",
    "mmad_um": "droplet size (MMAD)",
    "gsd": "droplet size spread (GSD)",
    "intact_fraction": "intact-vesicle fraction",
    "dose_particles": "loaded dose",
    "nebulizer": "nebulizer",
    "interface": "interface",
}
