"""Loading the vendored GLI lookup tables, each checked against its pinned sha256.

The GLI equations are only as right as their coefficient and spline tables, and a
table edited by accident would shift every predicted value a little without any
visible failure. So the bytes are hashed at load and compared with the checksums
recorded in ``data/SOURCES.md``; a mismatch raises
:class:`~exoneb.assessment.errors.ReferenceTableIntegrityError`.

The CSV files come from pyspiro 1.0.0 and have pitfalls (``data/SOURCES.md``):
``;`` separators, an unnamed leading column in ``bowerman_2022_coefficients.csv``
and a column order that differs between parameters. Every column is therefore
read by name, never by position.

References
----------
.. [1] Quanjer PH et al. Multi-ethnic reference values for spirometry for the
   3–95-yr age range: the global lung function 2012 equations. Eur Respir J
   2012;40:1324–43. doi:10.1183/09031936.00080312
.. [2] Bowerman C et al. A race-neutral approach to the interpretation of lung
   function measurements. Am J Respir Crit Care Med 2023;207:768–74.
   doi:10.1164/rccm.202205-0963OC
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from exoneb.assessment.errors import ReferenceTableIntegrityError
from exoneb.assessment.spirometry_terms import Equation, Parameter, Sex

__all__ = [
    "PINNED_SHA256",
    "AgeSplines",
    "Coefficients",
    "ReferenceTable",
    "TableFile",
    "TableVersion",
    "load_reference_table",
    "read_verified",
]

#: sha256 of each vendored table (``data/SOURCES.md``, ``reference/data/README.md``).
PINNED_SHA256: Mapping[str, str] = {
    "gli_2012_coefficients.csv": "23ae9560346c6a6e961b0ba49c687ac1a4e5216f9b7e009b8b007605ef3bc755",
    "gli_2012_splines.csv": "dc2de2a774fe0dfbcf354abaa15ee8054623d413a1153e8eb37fafb3a8f22389",
    "bowerman_2022_coefficients.csv": (
        "03ebbcf63c6f09e7bf772f75588f46ce76a435ef6a3c06f2aa134a6f434ef598"
    ),
    "bowerman_2022_splines.csv": "ab38d8933f090f84a402f9096dcd3dc73301b4200aff91635f17b8ab5e8faa7e",
}

#: Spacing of the GLI lookup-table ages (years).
AGE_STEP_YEARS = 0.25

_FILES: Mapping[Equation, tuple[str, str]] = {
    Equation.GLI_GLOBAL: ("bowerman_2022_coefficients.csv", "bowerman_2022_splines.csv"),
    Equation.GLI_2012: ("gli_2012_coefficients.csv", "gli_2012_splines.csv"),
}

_PARAMETERS: Mapping[Equation, tuple[Parameter, ...]] = {
    Equation.GLI_GLOBAL: (Parameter.FEV1, Parameter.FVC, Parameter.FEV1_FVC),
    Equation.GLI_2012: (Parameter.FEV1, Parameter.FVC, Parameter.FEV1_FVC, Parameter.FEF25_75),
}

_TABLE_LABELS: Mapping[Equation, str] = {
    Equation.GLI_GLOBAL: (
        "GLI Global 2022 lookup tables (gli_global_lookuptables_dec6), as shipped in pyspiro 1.0.0"
    ),
    Equation.GLI_2012: (
        "GLI-2012 lookup tables, full-precision Excel version, as shipped in pyspiro 1.0.0"
    ),
}

_REQUIRED_TERMS = ("a0", "a1", "a2", "p0", "p1", "q0")
_OPTIONAL_TERMS = ("a3", "a4", "a5", "a6", "p2", "p3", "p4", "p5", "q1")


@dataclass(frozen=True)
class TableFile:
    """One vendored table file and its sha256."""

    name: str
    sha256: str


@dataclass(frozen=True)
class TableVersion:
    """Which equation and which exact lookup tables produced a value.

    Recorded with every computed value, so a result can be reproduced (or shown
    to differ) when the equations or tables change (``spirometry.md`` §1.6).
    """

    equation: Equation
    label: str
    files: tuple[TableFile, ...]

    def __str__(self) -> str:
        """Return ``"<equation title>; <label>; <file> sha256:<first 12 hex>; …"``."""
        files = "; ".join(f"{f.name} sha256:{f.sha256[:12]}" for f in self.files)
        return f"{self.equation.display_name}; {self.label}; {files}"


@dataclass(frozen=True)
class Coefficients:
    """LMS coefficients of one sex and parameter (absent terms are 0).

    ``a`` holds a0–a6 (M), ``p`` holds p0–p5 (S) and ``q`` holds q0–q1 (L), with the
    ethnic-group terms a3–a6 and p2–p5 in the order AfrAm, NE Asia, SE Asia, Other.
    GLI Global has no ethnic terms, so its a3–a6 and p2–p5 are 0.
    """

    a: tuple[float, float, float, float, float, float, float]
    p: tuple[float, float, float, float, float, float]
    q: tuple[float, float]


@dataclass(frozen=True, eq=False)
class AgeSplines:
    """L, M and S age splines of one sex and parameter on the quarter-year grid.

    Only rows where all three splines are tabulated are kept, so ``ages[0]`` and
    ``ages[-1]`` are the valid age range (3–95 y; 3–90 y for GLI-2012 FEF25–75).
    """

    ages: NDArray[np.float64]
    lspline: NDArray[np.float64]
    mspline: NDArray[np.float64]
    sspline: NDArray[np.float64]

    @property
    def age_range(self) -> tuple[float, float]:
        """First and last tabulated age (years)."""
        return float(self.ages[0]), float(self.ages[-1])


@dataclass(frozen=True, eq=False)
class ReferenceTable:
    """Coefficients and splines of one equation, with the version they came from."""

    version: TableVersion
    coefficients: Mapping[tuple[Sex, Parameter], Coefficients]
    splines: Mapping[tuple[Sex, Parameter], AgeSplines]

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Parameters this equation provides."""
        return _PARAMETERS[self.version.equation]


def read_verified(name: str, source: Traversable | Path | None = None) -> bytes:
    """Return the bytes of table ``name``, refusing a file whose sha256 is not the pinned one.

    Parameters
    ----------
    name : str
        File name, one of :data:`PINNED_SHA256`.
    source : Traversable or Path, optional
        Folder to read from; defaults to the package's own ``data/`` folder. Tests
        pass a folder holding a modified copy to prove the check fails.

    Raises
    ------
    ReferenceTableIntegrityError
        If the file's sha256 differs from :data:`PINNED_SHA256`.
    """
    folder = resources.files("exoneb.assessment.data") if source is None else source
    raw = folder.joinpath(name).read_bytes()
    expected = PINNED_SHA256[name]
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise ReferenceTableIntegrityError(
            f"reference table {name} has sha256 {actual}, expected {expected}: the GLI "
            "lookup table was modified; restore the byte-identical copy listed in "
            "exoneb/assessment/data/SOURCES.md"
        )
    return raw


def _rows(raw: bytes) -> list[dict[str, str]]:
    """Parse a ``;``-separated CSV into dicts keyed by column name."""
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8")), delimiter=";"))


def _number(cell: str | None) -> float:
    """Parse a CSV cell; an empty cell is NaN (term absent or age not tabulated)."""
    if cell is None or cell.strip() == "":
        return math.nan
    return float(cell)


def _parse_coefficients(
    raw: bytes, name: str, parameters: tuple[Parameter, ...]
) -> dict[tuple[Sex, Parameter], Coefficients]:
    """Read the coefficient table by the ``var`` column and ``<PARAM>_<sex>`` columns."""
    by_term = {row["var"].strip(): row for row in _rows(raw)}
    out: dict[tuple[Sex, Parameter], Coefficients] = {}
    for sex in Sex:
        for parameter in parameters:
            column = f"{parameter.table_prefix}_{sex.table_suffix}"
            terms: dict[str, float] = {}
            for term in _REQUIRED_TERMS + _OPTIONAL_TERMS:
                value = _number(by_term[term].get(column)) if term in by_term else math.nan
                if math.isnan(value):
                    if term in _REQUIRED_TERMS:
                        raise ReferenceTableIntegrityError(
                            f"{name}: coefficient {term} missing for {column}"
                        )
                    value = 0.0
                terms[term] = value
            out[(sex, parameter)] = Coefficients(
                a=(
                    terms["a0"],
                    terms["a1"],
                    terms["a2"],
                    terms["a3"],
                    terms["a4"],
                    terms["a5"],
                    terms["a6"],
                ),
                p=(terms["p0"], terms["p1"], terms["p2"], terms["p3"], terms["p4"], terms["p5"]),
                q=(terms["q0"], terms["q1"]),
            )
    return out


def _parse_splines(
    raw: bytes, name: str, parameters: tuple[Parameter, ...]
) -> dict[tuple[Sex, Parameter], AgeSplines]:
    """Read the spline table by ``age`` and ``<PARAM>_<sex>_<L|M|S>spline`` columns."""
    rows = _rows(raw)
    ages = np.array([_number(row["age"]) for row in rows], dtype=np.float64)
    out: dict[tuple[Sex, Parameter], AgeSplines] = {}
    for sex in Sex:
        for parameter in parameters:
            base = f"{parameter.table_prefix}_{sex.table_suffix}"
            columns = {
                kind: np.array([_number(row[f"{base}_{kind}spline"]) for row in rows])
                for kind in ("L", "M", "S")
            }
            present = ~(np.isnan(columns["L"]) | np.isnan(columns["M"]) | np.isnan(columns["S"]))
            kept = ages[present]
            step_ok = kept.size >= 2 and np.allclose(np.diff(kept), AGE_STEP_YEARS)
            if not step_ok:
                raise ReferenceTableIntegrityError(
                    f"{name}: {base} splines are not a contiguous quarter-year grid"
                )
            out[(sex, parameter)] = AgeSplines(
                ages=kept,
                lspline=columns["L"][present],
                mspline=columns["M"][present],
                sspline=columns["S"][present],
            )
    return out


def _load(equation: Equation, source: Traversable | Path | None) -> ReferenceTable:
    """Read, verify and parse both tables of ``equation``."""
    coefficients_name, splines_name = _FILES[equation]
    parameters = _PARAMETERS[equation]
    coefficients = _parse_coefficients(
        read_verified(coefficients_name, source), coefficients_name, parameters
    )
    splines = _parse_splines(read_verified(splines_name, source), splines_name, parameters)
    version = TableVersion(
        equation=equation,
        label=_TABLE_LABELS[equation],
        files=tuple(TableFile(n, PINNED_SHA256[n]) for n in (coefficients_name, splines_name)),
    )
    return ReferenceTable(version=version, coefficients=coefficients, splines=splines)


@functools.cache
def _load_packaged(equation: Equation) -> ReferenceTable:
    """Load the package's own tables once per process (they are immutable)."""
    return _load(equation, None)


def load_reference_table(
    equation: Equation, source: Traversable | Path | None = None
) -> ReferenceTable:
    """Return the verified coefficients and splines of ``equation``.

    Parameters
    ----------
    equation : Equation
        Which GLI equation.
    source : Traversable or Path, optional
        Folder holding the CSV files; the package's ``data/`` (cached) when omitted.

    Raises
    ------
    ReferenceTableIntegrityError
        If a file is not byte-identical to the pinned table, or is malformed.
    """
    if source is None:
        return _load_packaged(equation)
    return _load(equation, source)
