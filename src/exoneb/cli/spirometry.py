"""``exoneb spirometry``: a quick GLI calculator for anyone (no database, no login).

Thin by design: parse the options, call :mod:`exoneb.assessment`, print a table
or exactly one JSON object. Invalid input exits with status 2 and a message that
names the option, the value and the valid range.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.interpretation import (
    Finding,
    SpirometryInterpretation,
    interpret_spirometry,
)
from exoneb.assessment.reference_equations import ReferenceValues, ScoredValue
from exoneb.assessment.spirometry_panel import SpirometryScores, score_spirometry
from exoneb.assessment.spirometry_terms import Equation, Ethnicity, Parameter, Sex
from exoneb.cli import app

DISCLAIMER = (
    "Decision support for a clinician, not a diagnosis: interpret with the patient's "
    "history, test quality and lung volumes."
)

_OPTION_OF_FIELD = {
    "sex": "--sex",
    "age": "--age",
    "height_cm": "--height-cm",
    "fev1": "--fev1",
    "fvc": "--fvc",
    "fev1_fvc": "--fev1/--fvc",
    "fef25_75": "--fef25-75",
    "equation": "--equation",
    "ethnicity": "--ethnicity",
}


def _fail(exc: AssessmentInputError) -> NoReturn:
    """Print the input error naming its option, and exit with the usage-error status 2."""
    option = _OPTION_OF_FIELD.get(exc.field, exc.field)
    typer.echo(f"Error: invalid {option}: {exc}", err=True)
    raise typer.Exit(code=2)


def _parameter_json(ref: ReferenceValues, value: ScoredValue | None) -> dict[str, float | None]:
    """The six numbers of one parameter (measured, z and % predicted are null when not given)."""
    return {
        "measured": value.measured if value else None,
        "predicted": ref.predicted,
        "lln": ref.lln,
        "uln": ref.uln,
        "z": value.z if value else None,
        "percent_predicted": value.percent_predicted if value else None,
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    """A finding as JSON."""
    return {
        "code": finding.code,
        "label": finding.label,
        "rule": finding.rule,
        "values": finding.values,
        "source": finding.source,
        "secondary": finding.secondary,
    }


def _payload(scores: SpirometryScores, reading: SpirometryInterpretation) -> dict[str, Any]:
    """Build the one JSON object: parameters, interpretation, equation and provenance."""
    by_parameter = {v.parameter: v for v in scores.measured}
    shown = [r for r in scores.references if r.parameter in by_parameter] or [
        r for r in scores.references if r.parameter is not Parameter.FEF25_75
    ]
    inputs = scores.inputs
    version = scores.references[0].table_version
    payload: dict[str, Any] = {
        r.parameter.value: _parameter_json(r, by_parameter.get(r.parameter)) for r in shown
    }
    payload["interpretation"] = {
        "obstruction": reading.obstruction,
        "severity": reading.severity.value if reading.severity else None,
        "pattern": reading.pattern.value,
        "equation": inputs.equation.value,
        "prism": reading.prism,
        "prism_definition": reading.config.prism_definition.value,
        "below_fixed_ratio_0_70": reading.below_fixed_ratio,
        "labels": list(reading.labels),
        "findings": [_finding_json(f) for f in reading.findings],
    }
    payload["equation"] = inputs.equation.value
    payload["reference"] = {
        "equation": inputs.equation.value,
        "name": inputs.equation.display_name,
        "table_version": str(version),
        "tables": [{"name": f.name, "sha256": f.sha256} for f in version.files],
        "sex": inputs.sex.value,
        "age_years": inputs.age_years,
        "height_cm": inputs.height_cm,
        "ethnicity": inputs.ethnicity.value if inputs.ethnicity else None,
        "z_limits": [-1.645, 1.645],
    }
    payload["warnings"] = sorted({w for r in scores.references for w in r.warnings})
    payload["disclaimer"] = DISCLAIMER
    return payload


def _fmt(value: float | None, parameter: Parameter, kind: str) -> str:
    """Format a number for the table: ratio to 3 decimals, volumes 2, z 2, % 0."""
    if value is None:
        return "–"
    if kind == "z":
        return f"{value:+.2f}"
    if kind == "pct":
        return f"{value:.0f}"
    return f"{value:.3f}" if parameter is Parameter.FEV1_FVC else f"{value:.2f}"


def _print_table(scores: SpirometryScores, reading: SpirometryInterpretation) -> None:
    """Readable rich output: one row per parameter, the reading, provenance, disclaimer."""
    console = Console()
    inputs = scores.inputs
    who = f"{inputs.sex.value}, {inputs.age_years:g} y, {inputs.height_cm:g} cm" + (
        f", {inputs.ethnicity.value}" if inputs.ethnicity else ""
    )
    table = Table(title=f"Spirometry — {inputs.equation.display_name} — {who}")
    for column in ("parameter", "unit", "measured", "predicted", "LLN", "ULN", "z", "% pred"):
        table.add_column(column, justify="left" if column in ("parameter", "unit") else "right")
    by_parameter = {v.parameter: v for v in scores.measured}
    for ref in scores.references:
        value = by_parameter.get(ref.parameter)
        if value is None and ref.parameter is Parameter.FEF25_75:
            continue
        p = ref.parameter
        table.add_row(
            p.label,
            p.unit,
            _fmt(value.measured if value else None, p, "v"),
            _fmt(ref.predicted, p, "v"),
            _fmt(ref.lln, p, "v"),
            _fmt(ref.uln, p, "v"),
            _fmt(value.z if value else None, p, "z"),
            _fmt(value.percent_predicted if value else None, p, "pct"),
        )
    console.print(table)
    lines = ["Reading (ERS/ATS 2022): " + "; ".join(reading.labels)]
    lines += [f"Warning: {w}" for w in sorted({w for r in scores.references for w in r.warnings})]
    lines += [f"Tables: {scores.references[0].table_version}", DISCLAIMER]
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


@app.command("spirometry")
def spirometry_command(
    sex: Annotated[
        Sex,
        typer.Option("--sex", case_sensitive=False, help="Sex for the reference equation: M or F."),
    ],
    age: Annotated[float, typer.Option("--age", help="Decimal age, years (3–95).")],
    height_cm: Annotated[float, typer.Option("--height-cm", help="Standing height, cm.")],
    fev1: Annotated[float | None, typer.Option("--fev1", help="Measured FEV1, litres.")] = None,
    fvc: Annotated[float | None, typer.Option("--fvc", help="Measured FVC, litres.")] = None,
    fef25_75: Annotated[
        float | None, typer.Option("--fef25-75", help="Measured FEF25–75, L/s (gli-2012 only).")
    ] = None,
    equation: Annotated[
        Equation,
        typer.Option(
            "--equation",
            case_sensitive=False,
            help="gli-global (race-neutral, default) or gli-2012.",
        ),
    ] = Equation.GLI_GLOBAL,
    ethnicity: Annotated[
        Ethnicity | None,
        typer.Option("--ethnicity", case_sensitive=False, help="GLI-2012 group (gli-2012 only)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")] = False,
) -> None:
    """Predicted values, LLN, ULN, z-scores and the ERS/ATS 2022 reading of a spirometry test.

    FEV1/FVC is computed when both FEV1 and FVC are given.
    """
    try:
        scores = score_spirometry(
            sex=sex,
            age=age,
            height_cm=height_cm,
            fev1=fev1,
            fvc=fvc,
            fef25_75=fef25_75,
            equation=equation,
            ethnicity=ethnicity,
        )
    except AssessmentInputError as exc:
        _fail(exc)
    reading = interpret_spirometry(scores)
    if as_json:
        typer.echo(json.dumps(_payload(scores, reading)))
    else:
        _print_table(scores, reading)
