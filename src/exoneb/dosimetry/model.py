"""The public entry point of the dose engine: :func:`deposit`.

``deposit`` resolves a nebulizer from the catalog (every value can be
overridden), builds the patient's airway scale and breathing pattern, splits
the loaded dose along the device chain, and runs either the
generation-by-generation Weibel model (``model="weibel"``, the nebulizer
prediction) or the ICRP-66 simplified regional fits (``model="icrp66"``, a
cross-check for nasal breathing averaged over activities).

Every numeric argument broadcasts, so one call evaluates many subjects or
devices at once; subjects are processed in chunks so memory stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from exoneb.dosimetry import icrp66 as icrp
from exoneb.dosimetry._mechanisms import Workspace
from exoneb.dosimetry._validation import require_where
from exoneb.dosimetry.airways import (
    REGION_GENERATIONS,
    frc_crapo_ml,
    parse_sex,
)
from exoneb.dosimetry.breathing import breathing_pattern, check_tidal_volume_for_subject
from exoneb.dosimetry.constants import (
    ISOTONIC_SALINE_DENSITY_KG_M3,
    NACL_CRYSTAL_DENSITY_KG_M3,
)
from exoneb.dosimetry.deposition import (
    Particles,
    Subjects,
    body_conditions,
    build_grids,
    deposit_breath,
    make_subjects,
)
from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.hygroscopic import dry_residue_diameter, equilibrium_diameter
from exoneb.dosimetry.nebulizers import (
    NebulizerSpec,
    device_chain,
    get_interface,
    get_nebulizer,
)
from exoneb.dosimetry.particles import (
    aerodynamic_diameter,
    diffusion_coefficient,
    physical_diameter,
    settling_velocity,
    slip_correction,
)
from exoneb.dosimetry.size_distribution import lognormal_bins

FloatArray = NDArray[np.float64]
Model = Literal["weibel", "icrp66"]
MODELS: tuple[str, ...] = ("weibel", "icrp66")

#: Version of the model equations and defaults; stored with every estimate.
MODEL_VERSION = "2026.11.0"

#: Regions reported for every estimate (fractions of the inhaled or loaded dose).
REGIONS: tuple[str, ...] = (
    "extrathoracic",
    "bronchial",
    "bronchiolar",
    "tracheobronchial",
    "alveolar",
    "lung",
    "exhaled",
)

#: Where the loaded dose goes before it reaches the patient (fractions of the loaded dose only).
DEVICE_KEYS: tuple[str, ...] = (
    "residual",
    "device_losses",
    "interface_losses",
    "lost_during_exhalation",
)

#: The parts of the loaded dose that add up to exactly 1 (no aggregate regions).
MASS_BALANCE_KEYS: tuple[str, ...] = (
    *DEVICE_KEYS,
    "extrathoracic",
    "bronchial",
    "bronchiolar",
    "alveolar",
    "exhaled",
)

MMAD_RANGE_UM = (0.1, 20.0)
DEFAULT_CHUNK_SIZE = 256

#: From this many subjects sharing one aerosol, the mechanisms are tabulated over the
#: subjects (``_mechanisms.SubjectGrid``): building the grids costs about as much as
#: a few hundred subjects.
GRID_MIN_SUBJECTS = 2048

ASSUMPTIONS: tuple[str, ...] = (
    "Symmetric Weibel-A lung scaled to the subject's lung volume (FRC + half a tidal volume).",
    "Steady flows during inhalation and exhalation; plug flow through the dead space, "
    "alveolated generations 17–23 expand in proportion to their volume.",
    "Vesicle dose follows droplet volume: deposition is integrated over the droplet mass "
    "distribution (MMAD, GSD).",
    "Droplets are isotonic saline at equilibrium with the airway relative humidity.",
    "Catalog device values and the intact-vesicle fraction are assumptions unless measured "
    "for this product and device.",
)


@dataclass(frozen=True)
class DepositionResult:
    """An estimate of where a nebulized dose goes.

    Arrays have the broadcast shape of the inputs (0-d for scalar inputs).

    Attributes
    ----------
    model, model_version : str
    inputs : dict
        Every resolved input, catalog defaults included.
    duration_min : ndarray
        Nebulization time from fill, residual and output rate.
    fractions_of_loaded, fractions_of_inhaled : dict of ndarray or None
        Region keys of :data:`REGIONS`; ``fractions_of_loaded`` also has
        ``residual``, ``device_losses``, ``interface_losses`` and
        ``lost_during_exhalation``. ``None`` where the model cannot say.
    by_generation : ndarray or None
        Fraction of the inhaled dose deposited in generations 0–23, shape ``(..., 24)``.
    by_phase : dict of ndarray or None
        Fraction of the inhaled dose deposited during ``inhalation``,
        ``breath_hold`` and ``exhalation``.
    particles : dict of ndarray or None
        With ``dose_particles``: particles per region of ``fractions_of_loaded``,
        plus ``lung_intact``.
    warnings, assumptions : list of str
    """

    model: str
    model_version: str
    inputs: dict[str, Any]
    duration_min: FloatArray
    fractions_of_loaded: dict[str, FloatArray | None]
    fractions_of_inhaled: dict[str, FloatArray | None]
    by_generation: FloatArray | None
    by_phase: dict[str, FloatArray] | None
    particles: dict[str, FloatArray | None] | None
    warnings: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (floats and lists; ``None`` for what the model cannot give)."""
        by_gen: list[dict[str, Any]] | None = None
        if self.by_generation is not None:
            by_gen = [
                {"generation": g, "fraction_of_inhaled": _jsonable(self.by_generation[..., g])}
                for g in range(self.by_generation.shape[-1])
            ]
        return {
            "model": self.model,
            "model_version": self.model_version,
            "inputs": {k: _jsonable(v) for k, v in self.inputs.items()},
            "duration_min": _jsonable(self.duration_min),
            "fractions_of_loaded": {k: _jsonable(v) for k, v in self.fractions_of_loaded.items()},
            "fractions_of_inhaled": {k: _jsonable(v) for k, v in self.fractions_of_inhaled.items()},
            "by_generation": by_gen,
            "by_phase": None
            if self.by_phase is None
            else {k: _jsonable(v) for k, v in self.by_phase.items()},
            "particles": None
            if self.particles is None
            else {k: _jsonable(v) for k, v in self.particles.items()},
            "warnings": list(self.warnings),
            "assumptions": list(self.assumptions),
        }


def deposit(
    *,
    nebulizer: str = "aerogen-solo",
    interface: str | None = None,
    mmad_um: ArrayLike | None = None,
    gsd: ArrayLike | None = None,
    fill_ml: ArrayLike | None = None,
    output_rate_ml_min: ArrayLike | None = None,
    residual_ml: ArrayLike | None = None,
    delivery: str | None = None,
    intact_fraction: ArrayLike | None = None,
    tidal_volume_ml: ArrayLike = 500.0,
    breaths_per_min: ArrayLike = 15.0,
    inspiratory_fraction: ArrayLike = 0.4,
    breath_hold_s: ArrayLike = 0.0,
    route: str | None = None,
    nasal_fraction: ArrayLike | None = None,
    sex: ArrayLike = "male",
    age_years: ArrayLike = 40.0,
    height_cm: ArrayLike = 175.0,
    frc_ml: ArrayLike | None = None,
    dose_particles: ArrayLike | None = None,
    model: str = "weibel",
    n_bins: int = 40,
    relative_humidity: float = 0.995,
    dry_out: bool = False,
    branching_angle_deg: float = 30.0,
    gravity_angle_deg: float = 45.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    exact: bool = False,
) -> DepositionResult:
    """Estimate how much of a nebulized dose is emitted, inhaled, deposited and exhaled.

    Parameters
    ----------
    nebulizer : str
        Catalog id (``exoneb.dosimetry.nebulizer_catalog()``), default ``"aerogen-solo"``.
    interface : str, optional
        ``"mouthpiece"``, ``"valved-mask"`` or ``"open-aerosol-mask"``; default: the device's.
    mmad_um, gsd : float or array, optional
        Aerodynamic mass median diameter (0.1–20 µm) and geometric standard deviation (≥ 1)
        of the emitted droplets; default: the device's.
    fill_ml, output_rate_ml_min, residual_ml : float or array, optional
        Volume loaded (mL), liquid output rate (mL/min), volume left at the end (mL).
    delivery : {"continuous", "breath-actuated", "breath-enhanced"}, optional
    intact_fraction : float or array, optional
        Share of vesicles intact after nebulization, [0, 1].
    tidal_volume_ml, breaths_per_min, inspiratory_fraction, breath_hold_s : float or array
        Breathing pattern. Defaults: 500 mL, 15/min, 0.4, 0 s (relaxed tidal breathing).
    route : {"mouth", "nose"}, optional
        Breathing route; default from the interface (mouthpiece → mouth, mask → nose).
    nasal_fraction : float or array, optional
        Share of airflow through the nose when ``route="nose"``; default 1.0 (ICRP-66 normal
        nose breather at rest). Ignored for mouth breathing.
    sex, age_years, height_cm : optional
        Used to predict FRC (Crapo 1982) when ``frc_ml`` is not given.
    frc_ml : float or array, optional
        Functional residual capacity, mL.
    dose_particles : float or array, optional
        Particles (vesicles) loaded; adds particle counts per region.
    model : {"weibel", "icrp66"}
    n_bins : int
        Size bins over the droplet mass distribution (≥ 1; 40 by default).
    relative_humidity : float
        Airway relative humidity for droplet equilibrium size, in (0, 1); default 0.995.
    dry_out : bool
        What-if: droplets dry completely to their salt residue before inhalation.
    branching_angle_deg, gravity_angle_deg : float
        Yeh–Schum branching angle and airway inclination to gravity (defaults 30°, 45°).
    chunk_size : int
        Subjects per vectorised block (memory bound).
    exact : bool
        Evaluate the efficiency formulas directly instead of through their lookup tables
        (identical to about 1e-6; slower; for validation).

    Returns
    -------
    DepositionResult

    Raises
    ------
    DosimetryInputError
        For any out-of-range, inconsistent or unknown input, naming the field, value and range.

    References
    ----------
    reference/dosimetry.md §1–§6 (equations, constants and validation cases).
    """
    _check_options(
        model=model,
        n_bins=n_bins,
        chunk_size=chunk_size,
        relative_humidity=relative_humidity,
        angles_deg={
            "branching_angle_deg": branching_angle_deg,
            "gravity_angle_deg": gravity_angle_deg,
        },
    )
    spec = _device_spec(
        nebulizer,
        mmad_um=mmad_um,
        gsd=gsd,
        default_fill_ml=fill_ml,
        output_rate_ml_min=output_rate_ml_min,
        residual_ml=residual_ml,
        delivery=delivery,
        intact_fraction=intact_fraction,
        interface=interface,
    )
    iface = get_interface(spec.interface)
    route_used = route if route is not None else iface.route
    if route_used not in ("mouth", "nose"):
        raise DosimetryInputError("route", route_used, '"mouth" or "nose"')
    mmad = require_where(
        "mmad_um",
        spec.mmad_um,
        lambda a: (a >= MMAD_RANGE_UM[0]) & (a <= MMAD_RANGE_UM[1]),
        "0.1 to 20 µm",
    )
    gsd_arr = require_where("gsd", spec.gsd, lambda a: a >= 1.0, "≥ 1 (1 means monodisperse)")
    intact = require_where(
        "intact_fraction", spec.intact_fraction, lambda a: (a >= 0) & (a <= 1), "0 to 1"
    )
    if route_used == "nose":
        fn = nasal_fraction if nasal_fraction is not None else 1.0
        fn_arr = require_where("nasal_fraction", fn, lambda a: (a >= 0) & (a <= 1), "0 to 1")
    else:
        fn_arr = np.asarray(0.0)

    if frc_ml is None:
        frc = frc_crapo_ml(sex, height_cm, age_years)
    else:
        parse_sex(sex)
        frc = require_where("frc_ml", frc_ml, lambda a: (a >= 500) & (a <= 8000), "500 to 8000 mL")
    breath = breathing_pattern(
        tidal_volume_ml=tidal_volume_ml,
        breaths_per_min=breaths_per_min,
        inspiratory_fraction=inspiratory_fraction,
        breath_hold_s=breath_hold_s,
    )
    check_tidal_volume_for_subject(tidal_volume_ml, frc)
    chain = device_chain(
        fill_ml=spec.default_fill_ml,
        residual_ml=spec.residual_ml,
        residual_concentration_factor=spec.residual_concentration_factor,
        device_loss_fraction=spec.device_loss_fraction,
        output_rate_ml_min=spec.output_rate_ml_min,
        delivery=spec.delivery,
        breath_enhancement=spec.breath_enhancement,
        interface_efficiency=iface.efficiency,
        breathing=breath,
        actuations=spec.actuations,
    )
    dose = None
    if dose_particles is not None:
        dose = require_where("dose_particles", dose_particles, lambda a: a > 0, "> 0 particles")

    shape = np.broadcast_shapes(
        np.shape(mmad),
        np.shape(gsd_arr),
        np.shape(fn_arr),
        np.shape(frc),
        np.shape(breath.tidal_volume_m3),
        np.shape(chain.inhaled),
        np.shape(intact),
        np.shape(dose) if dose is not None else (),
    )
    if model == "weibel":
        inhaled_fr, by_gen, by_phase = _weibel(
            mmad,
            gsd_arr,
            fn_arr,
            frc,
            breath,
            shape,
            n_bins,
            relative_humidity,
            dry_out,
            math.radians(branching_angle_deg),
            math.radians(gravity_angle_deg),
            chunk_size,
            exact,
        )
    else:
        inhaled_fr = _icrp66(mmad, gsd_arr, shape, n_bins)
        by_gen = None
        by_phase = None

    loaded: dict[str, FloatArray | None] = {
        k: None if v is None else np.asarray(v * chain.inhaled) for k, v in inhaled_fr.items()
    }
    loaded.update(
        residual=np.broadcast_to(chain.residual, shape).copy(),
        device_losses=np.broadcast_to(chain.device_losses, shape).copy(),
        interface_losses=np.broadcast_to(chain.interface_losses, shape).copy(),
        lost_during_exhalation=np.broadcast_to(chain.lost_during_exhalation, shape).copy(),
    )
    particle_counts: dict[str, FloatArray | None] | None = None
    if dose is not None:
        particle_counts = {
            k: None if v is None else np.asarray(v * dose) for k, v in loaded.items()
        }
        lung = loaded["lung"]
        particle_counts["lung_intact"] = None if lung is None else np.asarray(lung * dose * intact)

    inputs: dict[str, Any] = {
        "model": model,
        "nebulizer": spec.id,
        "nebulizer_name": spec.name,
        "nebulizer_kind": spec.kind,
        "interface": iface.name,
        "interface_efficiency": iface.efficiency,
        "delivery": spec.delivery,
        "mmad_um": mmad,
        "gsd": gsd_arr,
        "fill_ml": np.asarray(spec.default_fill_ml, dtype=np.float64),
        "output_rate_ml_min": np.asarray(spec.output_rate_ml_min, dtype=np.float64),
        "residual_ml": np.asarray(spec.residual_ml, dtype=np.float64),
        "residual_concentration_factor": spec.residual_concentration_factor,
        "device_loss_fraction": spec.device_loss_fraction,
        "breath_enhancement": spec.breath_enhancement,
        "intact_fraction": intact,
        "tidal_volume_ml": np.asarray(tidal_volume_ml, dtype=np.float64),
        "breaths_per_min": np.asarray(breaths_per_min, dtype=np.float64),
        "inspiratory_fraction": np.asarray(inspiratory_fraction, dtype=np.float64),
        "breath_hold_s": np.asarray(breath_hold_s, dtype=np.float64),
        "route": route_used,
        "nasal_fraction": fn_arr,
        "sex": np.asarray(sex).tolist(),
        "age_years": np.asarray(age_years, dtype=np.float64),
        "height_cm": np.asarray(height_cm, dtype=np.float64),
        "frc_ml": frc,
        "frc_source": "given" if frc_ml is not None else "Crapo 1982 prediction",
        "dose_particles": dose,
        "n_bins": n_bins,
        "relative_humidity": relative_humidity,
        "dry_out": dry_out,
        "branching_angle_deg": branching_angle_deg,
        "gravity_angle_deg": gravity_angle_deg,
    }
    return DepositionResult(
        model=model,
        model_version=MODEL_VERSION,
        inputs=inputs,
        duration_min=np.broadcast_to(chain.duration_min, shape).copy(),
        fractions_of_loaded=loaded,
        fractions_of_inhaled=inhaled_fr,
        by_generation=by_gen,
        by_phase=by_phase,
        particles=particle_counts,
        warnings=spec.warnings,
        assumptions=list(ASSUMPTIONS)
        if model == "weibel"
        else [
            "ICRP-66 simplified fits (Hinds 1999, eqs 11.1–11.5): nasal breathing averaged over "
            "sex and activity, unit-density spheres; a cross-check, not a nebulizer prediction."
        ],
    )


def _check_options(
    *,
    model: str,
    n_bins: int,
    chunk_size: int,
    relative_humidity: float,
    angles_deg: dict[str, float],
) -> None:
    """Validate the model options that are plain scalars (not broadcast)."""
    if model not in MODELS:
        raise DosimetryInputError("model", model, "one of " + ", ".join(MODELS))
    if not (isinstance(n_bins, int) and n_bins >= 1):
        raise DosimetryInputError("n_bins", n_bins, "an integer ≥ 1")
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise DosimetryInputError("chunk_size", chunk_size, "an integer ≥ 1")
    if not 0.0 < relative_humidity < 1.0:
        raise DosimetryInputError(
            "relative_humidity", relative_humidity, "strictly between 0 and 1"
        )
    for name, angle in angles_deg.items():
        if not 0.0 <= angle <= 90.0:
            raise DosimetryInputError(name, angle, "0 to 90 degrees")


def _device_spec(nebulizer: str, **overrides: Any) -> NebulizerSpec:
    """The catalog device with the caller's overrides; reservoir values refused for inhalers."""
    spec = get_nebulizer(nebulizer).with_overrides(**overrides)
    if spec.is_inhaler:
        for name in ("default_fill_ml", "output_rate_ml_min", "residual_ml"):
            value = overrides.get(name)
            if value is not None:
                field_name = "fill_ml" if name == "default_fill_ml" else name
                raise DosimetryInputError(
                    field_name,
                    value,
                    "not set for an inhaler",
                    f"{spec.name} is a {spec.kind.upper()}: one actuation is inhaled in one "
                    "breath; there is no fill, residual or output rate.",
                )
    return spec


def _weibel(
    mmad: FloatArray,
    gsd: FloatArray,
    nasal_fraction: FloatArray,
    frc_ml: FloatArray,
    breath: Any,
    shape: tuple[int, ...],
    n_bins: int,
    relative_humidity: float,
    dry_out: bool,
    branching_angle_rad: float,
    gravity_angle_rad: float,
    chunk_size: int,
    exact: bool,
) -> tuple[dict[str, FloatArray | None], FloatArray, dict[str, FloatArray]]:
    """Run the Weibel kernel over all subjects in chunks; returns inhaled-basis results."""
    size = math.prod(shape)
    per_subject_aerosol = np.ndim(mmad) > 0 or np.ndim(gsd) > 0
    flat = {
        "mmad": _flat(mmad, shape),
        "gsd": _flat(gsd, shape),
        "fn": _flat(nasal_fraction, shape),
        "frc": _flat(frc_ml, shape) * 1e-6,
        "vt": _flat(breath.tidal_volume_m3, shape),
        "t_in": _flat(breath.inhalation_s, shape),
        "t_bh": _flat(breath.breath_hold_s, shape),
        "t_ex": _flat(breath.exhalation_s, shape),
    }
    conditions = body_conditions(branching_angle_rad, gravity_angle_rad, exact=exact)
    shared = None
    grids = None
    workspace = Workspace()
    if not per_subject_aerosol:
        shared = _shared_particles(
            float(flat["mmad"][0]), float(flat["gsd"][0]), n_bins, relative_humidity, dry_out
        )
        if size >= GRID_MIN_SUBJECTS and not exact:
            grids = build_grids(shared, _subjects(flat, slice(None)), conditions)

    deposited = np.empty((size, 25))
    phases = np.empty((3, size))
    exhaled = np.empty(size)
    for start in range(0, size, chunk_size):
        part = slice(start, min(start + chunk_size, size))
        particles = shared or _particles(
            flat["mmad"][part], flat["gsd"][part], n_bins, relative_humidity, dry_out
        )
        result = deposit_breath(particles, _subjects(flat, part), conditions, grids, workspace)
        deposited[part] = result.deposited
        phases[:, part] = result.by_phase.sum(axis=2)
        exhaled[part] = result.exhaled

    gens = deposited[:, 1:]
    regions = {
        name: gens[:, list(gen_range)].sum(axis=1) for name, gen_range in REGION_GENERATIONS.items()
    }
    fractions: dict[str, FloatArray | None] = {
        "extrathoracic": deposited[:, 0],
        "bronchial": regions["bronchial"],
        "bronchiolar": regions["bronchiolar"],
        "tracheobronchial": regions["bronchial"] + regions["bronchiolar"],
        "alveolar": regions["alveolar"],
        "lung": regions["bronchial"] + regions["bronchiolar"] + regions["alveolar"],
        "exhaled": exhaled,
    }
    out = {k: None if v is None else v.reshape(shape) for k, v in fractions.items()}
    by_phase = {
        name: phases[i].reshape(shape)
        for i, name in enumerate(("inhalation", "breath_hold", "exhalation"))
    }
    return out, gens.reshape((*shape, 24)), by_phase


@lru_cache(maxsize=64)
def _shared_particles(
    mmad_um: float, gsd: float, n_bins: int, relative_humidity: float, dry_out: bool
) -> Particles:
    """Droplet properties of one aerosol, cached: they depend on nothing about the subject."""
    particles = _particles(np.array([mmad_um]), np.array([gsd]), n_bins, relative_humidity, dry_out)
    for value in vars(particles).values():
        value.setflags(write=False)
    return particles


def _subjects(flat: dict[str, FloatArray], part: slice) -> Subjects:
    return make_subjects(
        frc_m3=flat["frc"][part],
        tidal_volume_m3=flat["vt"][part],
        inhalation_s=flat["t_in"][part],
        breath_hold_s=flat["t_bh"][part],
        exhalation_s=flat["t_ex"][part],
        nasal_fraction=flat["fn"][part],
    )


def _particles(
    mmad_um: FloatArray, gsd: FloatArray, n_bins: int, relative_humidity: float, dry_out: bool
) -> Particles:
    """Droplet properties per bin at airway conditions, shapes ``(S, B)``."""
    d_ae_emitted, weights = lognormal_bins(mmad_um[:, None] * 1e-6, gsd[:, None], n_bins)
    d_ae_emitted = np.broadcast_to(d_ae_emitted, (mmad_um.size, d_ae_emitted.shape[-1]))
    weights = np.broadcast_to(weights, d_ae_emitted.shape)
    d_emitted = physical_diameter(d_ae_emitted, ISOTONIC_SALINE_DENSITY_KG_M3)
    if dry_out:
        diameter = dry_residue_diameter(d_emitted)
        density = NACL_CRYSTAL_DENSITY_KG_M3
    else:
        diameter = equilibrium_diameter(d_emitted, relative_humidity)
        density = ISOTONIC_SALINE_DENSITY_KG_M3
    diameter = np.asarray(diameter, dtype=np.float64)
    rho = np.full_like(diameter, density)
    return Particles(
        diameter_m=np.asarray(diameter, dtype=np.float64),
        density_kg_m3=np.asarray(rho, dtype=np.float64),
        slip=np.asarray(slip_correction(diameter), dtype=np.float64),
        diffusion_m2_s=np.asarray(diffusion_coefficient(diameter), dtype=np.float64),
        settling_velocity_m_s=np.asarray(settling_velocity(diameter, rho), dtype=np.float64),
        aerodynamic_diameter_m=np.asarray(aerodynamic_diameter(diameter, rho), dtype=np.float64),
        mass_weight=np.asarray(weights, dtype=np.float64),
    )


def _icrp66(
    mmad: FloatArray, gsd: FloatArray, shape: tuple[int, ...], n_bins: int
) -> dict[str, FloatArray | None]:
    """Mass-weighted ICRP-66 simplified fits over the same droplet bins (nasal, averaged)."""
    d_ae, weights = lognormal_bins(
        _flat(mmad, shape)[:, None] * 1e-6, _flat(gsd, shape)[:, None], n_bins
    )
    d_um = d_ae * 1e6

    def mean(values: ArrayLike) -> FloatArray:
        return np.asarray((np.asarray(values) * weights).sum(axis=-1).reshape(shape))

    ha = mean(icrp.head_airways(d_um))
    tb = mean(icrp.tracheobronchial(d_um))
    al = mean(icrp.alveolar(d_um))
    return {
        "extrathoracic": ha,
        "bronchial": None,
        "bronchiolar": None,
        "tracheobronchial": tb,
        "alveolar": al,
        "lung": tb + al,
        "exhaled": None,
    }


def _flat(value: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    """``value`` broadcast to ``shape`` and flattened (a fast path for one subject)."""
    if not shape:
        return np.array([float(np.asarray(value))])
    return np.ascontiguousarray(
        np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    ).reshape(-1)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind in "fiub":
        return arr.item() if arr.ndim == 0 else arr.tolist()
    return arr.tolist()
