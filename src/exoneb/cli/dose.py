"""Dose-engine commands: ``exoneb deposit``, ``exoneb cohort`` and ``exoneb nebulizers``.

They are thin: parse options (units in their names), call
:mod:`exoneb.dosimetry`, print a table or exactly one JSON object. Invalid input
exits with status 2 and a message naming the option, the value and the range.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from exoneb.cli import app
from exoneb.dosimetry import DosimetryInputError, deposit, nebulizer_catalog, simulate_cohort
from exoneb.dosimetry.model import DEVICE_KEYS, REGIONS, DepositionResult

DISCLAIMER = (
    "Model estimate with stated assumptions, for decision support; not medical advice and "
    "not a measurement of this patient's dose."
)


class Route(StrEnum):
    mouth = "mouth"
    nose = "nose"


class Delivery(StrEnum):
    continuous = "continuous"
    breath_actuated = "breath-actuated"
    breath_enhanced = "breath-enhanced"


class ModelName(StrEnum):
    weibel = "weibel"
    icrp66 = "icrp66"


class Sex(StrEnum):
    M = "M"
    F = "F"
    male = "male"
    female = "female"


# Options shared by deposit and cohort ------------------------------------------------------
Nebulizer = Annotated[
    str, typer.Option("--nebulizer", help="Catalog device id (see `exoneb nebulizers`).")
]
Interface = Annotated[
    str | None, typer.Option(help="mouthpiece, valved-mask or open-aerosol-mask.")
]
MmadUm = Annotated[float | None, typer.Option("--mmad-um", help="Droplet MMAD, µm (0.1–20).")]
Gsd = Annotated[float | None, typer.Option("--gsd", help="Geometric standard deviation (≥ 1).")]
FillMl = Annotated[float | None, typer.Option("--fill-ml", help="Volume loaded, mL.")]
RateMlMin = Annotated[
    float | None, typer.Option("--output-rate-ml-min", help="Output rate, mL/min.")
]
ResidualMl = Annotated[float | None, typer.Option("--residual-ml", help="Residual volume, mL.")]
DeliveryOpt = Annotated[Delivery | None, typer.Option("--delivery", help="Output mode.")]
IntactOpt = Annotated[
    float | None, typer.Option("--intact-fraction", help="Vesicles intact after nebulization, 0–1.")
]
BreathHold = Annotated[
    float, typer.Option("--breath-hold-s", help="Breath-hold after inhalation, s.")
]
RouteOpt = Annotated[
    Route | None, typer.Option("--route", help="Breathing route (default from the interface).")
]
NasalFraction = Annotated[
    float | None,
    typer.Option("--nasal-fraction", help="Share of airflow through the nose (nose route), 0–1."),
]
DoseParticles = Annotated[
    float | None, typer.Option("--dose-particles", help="Vesicles loaded (particles).")
]
ModelOpt = Annotated[
    ModelName,
    typer.Option("--model", help="weibel (nebulizer prediction) or icrp66 (cross-check)."),
]
Bins = Annotated[int, typer.Option("--bins", help="Droplet size bins.")]
Humidity = Annotated[
    float, typer.Option("--relative-humidity", help="Airway relative humidity, 0–1.")
]
DryOut = Annotated[
    bool, typer.Option("--dry-out", help="What-if: droplets dry to their salt residue.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")]


#: CLI option names that differ from the engine's argument names.
_ENGINE_NAMES = {"age": "age_years", "bins": "n_bins"}


def _engine_options(options: dict[str, Any], exclude: tuple[str, ...]) -> dict[str, Any]:
    """The command's options as :func:`exoneb.dosimetry.deposit` arguments (enums → values)."""
    return {
        _ENGINE_NAMES.get(name, name): value.value if isinstance(value, StrEnum) else value
        for name, value in options.items()
        if name not in exclude
    }


def _fail(exc: Exception) -> NoReturn:
    """Print the problem on stderr, naming the command-line option, and exit with status 2."""
    message = str(exc)
    if isinstance(exc, DosimetryInputError):
        engine_to_option = {engine: option for option, engine in _ENGINE_NAMES.items()}
        option = "--" + engine_to_option.get(exc.field, exc.field).replace("_", "-")
        message = f"Invalid value for {option}: {message}"
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command("deposit")
def deposit_command(
    nebulizer: Nebulizer = "aerogen-solo",
    interface: Interface = None,
    mmad_um: MmadUm = None,
    gsd: Gsd = None,
    fill_ml: FillMl = None,
    output_rate_ml_min: RateMlMin = None,
    residual_ml: ResidualMl = None,
    delivery: DeliveryOpt = None,
    intact_fraction: IntactOpt = None,
    tidal_volume_ml: Annotated[
        float, typer.Option("--tidal-volume-ml", help="Tidal volume, mL.")
    ] = 500.0,
    breaths_per_min: Annotated[
        float, typer.Option("--breaths-per-min", help="Breathing rate, /min.")
    ] = 15.0,
    inspiratory_fraction: Annotated[
        float, typer.Option("--inspiratory-fraction", help="Inhalation time / cycle time, (0, 1).")
    ] = 0.4,
    breath_hold_s: BreathHold = 0.0,
    route: RouteOpt = None,
    nasal_fraction: NasalFraction = None,
    sex: Annotated[Sex, typer.Option("--sex", help="Sex used for FRC prediction.")] = Sex.male,
    age: Annotated[float, typer.Option("--age", help="Age, years.")] = 40.0,
    height_cm: Annotated[float, typer.Option("--height-cm", help="Height, cm.")] = 175.0,
    frc_ml: Annotated[
        float | None, typer.Option("--frc-ml", help="Measured FRC, mL (else predicted).")
    ] = None,
    dose_particles: DoseParticles = None,
    model: ModelOpt = ModelName.weibel,
    bins: Bins = 40,
    relative_humidity: Humidity = 0.995,
    dry_out: DryOut = False,
    as_json: JsonOpt = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write a PNG of deposition by generation and region."),
    ] = None,
) -> None:
    """Estimate where one nebulized dose goes: device, exhaled air, mouth/nose and lung regions."""
    options = _engine_options(locals(), exclude=("as_json", "plot"))
    try:
        result = deposit(**options)
    except DosimetryInputError as exc:
        _fail(exc)
    if plot is not None:
        _save_plot(result, plot)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), allow_nan=False) + "\n")
        return
    _print_deposit(result)


@app.command("cohort")
def cohort_command(
    nebulizer: Nebulizer = "aerogen-solo",
    interface: Interface = None,
    mmad_um: MmadUm = None,
    gsd: Gsd = None,
    fill_ml: FillMl = None,
    output_rate_ml_min: RateMlMin = None,
    residual_ml: ResidualMl = None,
    delivery: DeliveryOpt = None,
    intact_fraction: IntactOpt = None,
    breath_hold_s: BreathHold = 0.0,
    route: RouteOpt = None,
    nasal_fraction: NasalFraction = None,
    dose_particles: DoseParticles = None,
    model: ModelOpt = ModelName.weibel,
    bins: Bins = 40,
    relative_humidity: Humidity = 0.995,
    n: Annotated[int, typer.Option("--n", help="Number of virtual subjects.", min=1)] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed, same cohort).", min=0)
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Spread of the regional dose over a seeded virtual adult cohort (5th–95th percentiles)."""
    options = _engine_options(locals(), exclude=("as_json", "n", "seed"))
    try:
        cohort = simulate_cohort(n, seed, **options)
    except DosimetryInputError as exc:
        _fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(cohort.to_dict(), allow_nan=False) + "\n")
        return
    console = Console()
    table = Table(
        title=f"Virtual cohort: n = {n}, seed = {seed}, {cohort.result.inputs['nebulizer']}"
    )
    table.add_column("region (% of loaded dose)")
    for p in ("p5", "p25", "p50", "p75", "p95"):
        table.add_column(p, justify="right")
    for region, qs in cohort.percentiles.items():
        table.add_row(region, *(f"{100 * v:.1f}" for v in qs.values()))
    console.print(table)
    console.print(f"{cohort.subjects_per_second:,.0f} subjects/s")
    console.print(DISCLAIMER)


@app.command("nebulizers")
def nebulizers_command(as_json: JsonOpt = False) -> None:
    """List the nebulizer catalog with each device's default values."""
    catalog = nebulizer_catalog()
    if as_json:
        payload: dict[str, Any] = {
            k: {f: getattr(v, f) for f in v.__dataclass_fields__} for k, v in catalog.items()
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    table = Table(title="Nebulizer catalog (override any value on the command line)")
    table.add_column("id", no_wrap=True)
    for col in ("kind", "delivery", "MMAD µm", "GSD", "rate mL/min", "residual mL", "intact"):
        table.add_column(col)
    for spec in catalog.values():
        table.add_row(
            spec.id,
            spec.kind,
            spec.delivery,
            f"{spec.mmad_um:g}",
            f"{spec.gsd:g}",
            f"{spec.output_rate_ml_min:g}",
            f"{spec.residual_ml:g}",
            f"{spec.intact_fraction:g}",
        )
    Console().print(table)


def _save_plot(result: DepositionResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from exoneb.dosimetry.plotting import deposition_figure

    try:
        deposition_figure(result).savefig(path, dpi=120)
    except OSError as exc:
        _fail(exc)


def _print_deposit(result: DepositionResult) -> None:
    console = Console()
    inputs = result.inputs
    amount = (
        "one actuation per breath"
        if inputs["delivery"] == "single-inhalation"
        else f"fill {float(inputs['fill_ml']):g} mL"
    )
    console.print(
        f"[bold]{inputs['nebulizer_name']}[/bold] ({inputs['delivery']}, {inputs['interface']}), "
        f"MMAD {float(inputs['mmad_um']):g} µm, GSD {float(inputs['gsd']):g}, "
        f"{amount} — model {result.model} {result.model_version}"
    )
    console.print(f"Treatment time: {float(result.duration_min):.1f} min")
    table = Table()
    table.add_column("where")
    table.add_column("% of loaded", justify="right")
    table.add_column("% of inhaled", justify="right")
    if result.particles is not None:
        table.add_column("particles", justify="right")
    order = DEVICE_KEYS + REGIONS
    for key in order:
        loaded = result.fractions_of_loaded.get(key)
        inhaled = result.fractions_of_inhaled.get(key)
        row = [key.replace("_", " "), _pct(loaded), _pct(inhaled)]
        if result.particles is not None:
            count = result.particles.get(key)
            row.append("—" if count is None else f"{float(count):.3g}")
        table.add_row(*row)
    intact = None if result.particles is None else result.particles.get("lung_intact")
    if intact is not None:
        table.add_row("lung, intact vesicles", "", "", f"{float(intact):.3g}")
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}")
    console.print(DISCLAIMER)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f}"
