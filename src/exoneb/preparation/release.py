"""Release of a product lot: the certificate of analysis against the release criteria.

A lot arrives in quarantine with its certificate of analysis (CoA). Before any
vial may be thawed for a patient, a pharmacist/lab user compares the CoA with
the release criteria of the protocol and releases or rejects the lot. This
module does the comparison, criterion by criterion, so the release page can
show every line with its measured value, its limit and where the limit comes
from. It never decides on the user's behalf: it says *releasable* only when
every criterion passes, and a criterion without data is reported as
``missing`` — never as a pass — because an absent sterility result is not a
negative one.

Defaults come from ``reference/clinical.md`` §2.1–§2.3 and carry that citation
with its confidence tag; a protocol file overrides values and sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from exoneb.preparation.errors import InvalidInput

__all__ = [
    "CertificateOfAnalysis",
    "CriterionResult",
    "Limit",
    "MarkerPanel",
    "Outcome",
    "QualitativeResult",
    "Range",
    "ReleaseCriteria",
    "ReleaseEvaluation",
    "Requirement",
    "StorageRange",
    "evaluate_release",
]


class QualitativeResult(StrEnum):
    """The result of a qualitative test on the certificate (sterility, mycoplasma)."""

    NEGATIVE = "negative"
    POSITIVE = "positive"


class Outcome(StrEnum):
    """The result of one release criterion."""

    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"  # the certificate does not give the data; never counts as a pass


@dataclass(frozen=True, slots=True)
class Limit:
    """A one-sided numeric limit with its unit and source.

    Attributes
    ----------
    value : float
        The limit in ``unit``.
    unit : str
        Unit of ``value`` as shown to the user (``"EU/mL"``, ``"%"``).
    source : str
        Where the limit comes from, with its confidence tag.
    inclusive : bool
        True when a result equal to the limit passes (``≤``/``≥``); False for
        strict limits such as ">90 %".
    """

    value: float
    unit: str
    source: str
    inclusive: bool = True


@dataclass(frozen=True, slots=True)
class Range:
    """A closed interval ``[low, high]`` with its unit and source."""

    low: float
    high: float
    unit: str
    source: str


@dataclass(frozen=True, slots=True)
class Requirement:
    """A qualitative requirement (e.g. sterility must be negative) with its source."""

    expected: QualitativeResult
    source: str


@dataclass(frozen=True, slots=True)
class MarkerPanel:
    """Identity markers that must be detected (positive) or not detected (negative).

    Names are compared case-insensitively; ``CANX`` is accepted for calnexin,
    as the STTT 2025 table writes it.
    """

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class StorageRange:
    """The storage temperature range on the certificate, in °C (closed interval)."""

    min_c: float
    max_c: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_c) and math.isfinite(self.max_c)):
            raise InvalidInput("The storage temperature range must be two finite numbers in °C.")
        if self.min_c > self.max_c:
            raise InvalidInput(
                f"The storage range {self.min_c} to {self.max_c} °C is reversed; "
                "give the lower temperature first."
            )


_REF = "reference/clinical.md"

SOURCE_STERILITY = (
    f"{_REF} §2.3: sterility negative — 21 CFR 200.51 (aqueous inhalation products must be "
    "sterile) [source]; STTT 2025 Table 1 and WJSC 2025 Table 1 [source]"
)
SOURCE_MYCOPLASMA = (
    f"{_REF} §2.3: mycoplasma (qPCR) negative — STTT 2025 Table 1, WJSC 2025 Table 1 [source]"
)
SOURCE_ENDOTOXIN = (
    f"{_REF} §2.3: endotoxin ≤0.5 EU/mL [design default] (WJSC 2025 <0.5 EU/mL, USP sterile "
    "water for inhalation <0.5 EU/mL [source]; a sponsor may set 0.25 as in STTT 2025)"
)
SOURCE_PARTICLES = (
    f"{_REF} §2.3: particle content = labelled amount ±20 % by NTA — STTT 2025 Table 1 [source]"
)
SOURCE_IDENTITY = (
    f"{_REF} §2.1/§2.3: CD9+, CD63+, CD81+, calnexin− by Western blot — STTT 2025 Table 1 "
    "[source]; TSG101+ — WJSC 2025 Table 1 and MISEV2018 category 2 [source]"
)
SOURCE_PURITY = (
    f"{_REF} §2.1: particles per µg protein (Webber & Clayton 2013) [source for the method; "
    "thresholds unverified]; minimum 2×10^9/µg = lower bound of the 'low purity' band, "
    "so the 'impure' band and the unclassified gap 1.5–2×10^9 are refused [design default]"
)
SOURCE_SIZE_WINDOW = f"{_REF} §2.3: NTA particles of 50–400 nm >90 % — STTT 2025 Table 1 [source]"
SOURCE_SIZE_MODE = (
    f"{_REF} §2.3: size mode inside the 50–400 nm window of STTT 2025 Table 1 [design default]"
)


def _default_markers() -> MarkerPanel:
    return MarkerPanel(
        positive=("CD9", "CD63", "CD81", "TSG101"),
        negative=("calnexin",),
        source=SOURCE_IDENTITY,
    )


@dataclass(frozen=True, slots=True)
class ReleaseCriteria:
    """The thresholds a lot's certificate must meet, each with its source.

    The defaults are those of ``reference/clinical.md`` §2.3; the protocol
    file's ``release_criteria`` section builds this object with its own values.

    Attributes
    ----------
    sterility, mycoplasma : Requirement
        Qualitative tests that must be negative.
    endotoxin_max_eu_per_ml : Limit
        Highest endotoxin allowed (inclusive).
    particle_tolerance_fraction : Limit
        Largest allowed relative difference between the measured (certified)
        and the labelled particle concentration (0.20 = ±20 %, inclusive).
    identity : MarkerPanel
        Markers that must be positive / negative.
    purity_min_particles_per_ug : Limit
        Lowest particle:protein ratio (particles per µg protein, inclusive).
    size_window_nm : Range
        The size window the "% within window" result refers to.
    size_within_window_min_percent : Limit
        Lowest share of particles inside ``size_window_nm`` (strict: >90 %).
    size_mode_nm : Range
        Where the size mode must lie (inclusive).
    """

    sterility: Requirement = Requirement(QualitativeResult.NEGATIVE, SOURCE_STERILITY)
    mycoplasma: Requirement = Requirement(QualitativeResult.NEGATIVE, SOURCE_MYCOPLASMA)
    endotoxin_max_eu_per_ml: Limit = Limit(0.5, "EU/mL", SOURCE_ENDOTOXIN)
    particle_tolerance_fraction: Limit = Limit(0.20, "fraction of label", SOURCE_PARTICLES)
    identity: MarkerPanel = field(default_factory=_default_markers)
    purity_min_particles_per_ug: Limit = Limit(2.0e9, "particles/µg", SOURCE_PURITY)
    size_window_nm: Range = Range(50.0, 400.0, "nm", SOURCE_SIZE_WINDOW)
    size_within_window_min_percent: Limit = Limit(90.0, "%", SOURCE_SIZE_WINDOW, inclusive=False)
    size_mode_nm: Range = Range(50.0, 400.0, "nm", SOURCE_SIZE_MODE)


@dataclass(frozen=True, slots=True)
class CertificateOfAnalysis:
    """What the manufacturer's certificate of analysis states about one lot.

    Every measured field is optional: a certificate may omit a test, and the
    release evaluation then reports that criterion as ``missing``. Units are
    in the field names. Traceability fields (cell source, instrument) are
    kept for the lot record (``reference/clinical.md`` §2.6) and are not
    judged here.

    Attributes
    ----------
    markers : Mapping[str, bool]
        Western-blot (or equivalent) results: ``True`` = detected.
    max_thaw_cycles : int
        How many times a vial may be thawed according to the certificate's
        stability data. ``1`` (the default) means single use, no refreezing
        (``reference/clinical.md`` §2.4 [design default]).
    """

    manufacturer: str
    lot_number: str
    certificate_id: str
    expires_at: datetime
    storage: StorageRange
    vial_count: int
    volume_per_vial_ml: float
    labelled_particles_per_ml: float | None = None
    certified_particles_per_ml: float | None = None
    concentration_method: str | None = None  # e.g. "NTA, NanoSight NS300"
    size_mode_nm: float | None = None
    size_window_nm: tuple[float, float] | None = None
    size_within_window_percent: float | None = None
    protein_ug_per_ml: float | None = None
    particle_protein_ratio_per_ug: float | None = None
    markers: Mapping[str, bool] = field(default_factory=dict)
    sterility: QualitativeResult | None = None
    endotoxin_eu_per_ml: float | None = None
    mycoplasma: QualitativeResult | None = None
    cell_tissue: str | None = None
    donor_code: str | None = None
    passage: int | None = None
    cell_bank_id: str | None = None
    max_thaw_cycles: int = 1

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise InvalidInput("The certificate's expiry needs a time zone (store UTC).")
        if self.vial_count < 1:
            raise InvalidInput(f"A lot needs at least one vial (got {self.vial_count}).")
        if not (math.isfinite(self.volume_per_vial_ml) and self.volume_per_vial_ml > 0):
            raise InvalidInput(
                f"The volume per vial must be a positive number of mL "
                f"(got {self.volume_per_vial_ml})."
            )
        measured = {
            "labelled particles/mL": self.labelled_particles_per_ml,
            "certified particles/mL": self.certified_particles_per_ml,
            "size mode (nm)": self.size_mode_nm,
            "% within the size window": self.size_within_window_percent,
            "protein (µg/mL)": self.protein_ug_per_ml,
            "particles per µg protein": self.particle_protein_ratio_per_ug,
            "endotoxin (EU/mL)": self.endotoxin_eu_per_ml,
        }
        for name, value in measured.items():
            # NaN is allowed through and reported as "not reported" by the evaluation;
            # a negative amount is a typing error that must not pass an upper limit.
            if value is not None and value < 0:
                raise InvalidInput(f"The certificate's {name} cannot be negative (got {value}).")
        percent = self.size_within_window_percent
        if percent is not None and percent > 100:
            raise InvalidInput(f"The % within the size window cannot exceed 100 (got {percent}).")
        if self.max_thaw_cycles < 1:
            raise InvalidInput(
                f"The certificate's thaw limit must be at least 1 (got {self.max_thaw_cycles})."
            )


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One line of the release checklist.

    Attributes
    ----------
    key : str
        Stable identifier (``"endotoxin"``, ``"marker:CD63"``, …).
    label : str
        What is checked, in words.
    outcome : Outcome
        Pass, fail or missing.
    measured : str
        The certificate's value as shown (``"not reported"`` when missing).
    limit : str
        The acceptance limit as shown.
    source : str
        Where the limit comes from.
    """

    key: str
    label: str
    outcome: Outcome
    measured: str
    limit: str
    source: str


@dataclass(frozen=True, slots=True)
class ReleaseEvaluation:
    """Every release criterion for one certificate, and whether the lot may be released."""

    results: tuple[CriterionResult, ...]

    @property
    def releasable(self) -> bool:
        """True only when every criterion passed (missing data blocks release)."""
        return bool(self.results) and all(r.outcome is Outcome.PASS for r in self.results)

    @property
    def failed(self) -> tuple[CriterionResult, ...]:
        """The criteria that failed."""
        return tuple(r for r in self.results if r.outcome is Outcome.FAIL)

    @property
    def missing(self) -> tuple[CriterionResult, ...]:
        """The criteria the certificate gives no data for."""
        return tuple(r for r in self.results if r.outcome is Outcome.MISSING)

    def summary(self) -> str:
        """One sentence for the release page and for error messages."""
        if self.releasable:
            return f"All {len(self.results)} release criteria pass."
        parts = []
        if self.failed:
            parts.append("failed: " + ", ".join(r.label for r in self.failed))
        if self.missing:
            parts.append("no data: " + ", ".join(r.label for r in self.missing))
        return "The lot cannot be released — " + "; ".join(parts) + "."


_NOT_REPORTED = "not reported"


def _num(value: float) -> str:
    """Format a measured number compactly (scientific notation for particle counts)."""
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa}×10^{int(exponent)}"
    return f"{value:g}"


def _finite(value: float | None) -> float | None:
    """Treat NaN/inf as not reported: a non-number is not a measurement."""
    if value is None or not math.isfinite(value):
        return None
    return value


def _compare(measured: float, limit: Limit, *, upper: bool) -> bool:
    if upper:
        return measured <= limit.value if limit.inclusive else measured < limit.value
    return measured >= limit.value if limit.inclusive else measured > limit.value


def _qualitative(
    key: str, label: str, measured: QualitativeResult | None, req: Requirement
) -> CriterionResult:
    if measured is None:
        outcome, shown = Outcome.MISSING, _NOT_REPORTED
    else:
        outcome = Outcome.PASS if measured is req.expected else Outcome.FAIL
        shown = measured.value
    return CriterionResult(key, label, outcome, shown, req.expected.value, req.source)


def _bound(
    key: str, label: str, measured: float | None, limit: Limit, *, upper: bool
) -> CriterionResult:
    sign = ("≤" if limit.inclusive else "<") if upper else ("≥" if limit.inclusive else ">")
    shown_limit = f"{sign} {_num(limit.value)} {limit.unit}"
    value = _finite(measured)
    if value is None:
        return CriterionResult(
            key, label, Outcome.MISSING, _NOT_REPORTED, shown_limit, limit.source
        )
    outcome = Outcome.PASS if _compare(value, limit, upper=upper) else Outcome.FAIL
    return CriterionResult(
        key, label, outcome, f"{_num(value)} {limit.unit}", shown_limit, limit.source
    )


def _particle_content(coa: CertificateOfAnalysis, limit: Limit) -> CriterionResult:
    label = "Particle concentration vs. label (NTA)"
    shown_limit = f"within ±{limit.value * 100:g} % of the labelled concentration"
    measured = _finite(coa.certified_particles_per_ml)
    labelled = _finite(coa.labelled_particles_per_ml)
    if measured is None or labelled is None or labelled <= 0:
        shown = (
            f"measured {_num(measured) if measured is not None else _NOT_REPORTED}, "
            f"label {_num(labelled) if labelled is not None else _NOT_REPORTED}"
        )
        return CriterionResult(
            "particle_content", label, Outcome.MISSING, shown, shown_limit, limit.source
        )
    deviation = (measured - labelled) / labelled
    # Compare with a tiny tolerance so that exactly ±20 % (e.g. 2.4e9 vs 2.0e9) passes
    # despite binary floating point; the limit is inclusive ("labelled amount ±20 %").
    ok = abs(deviation) <= limit.value + 1e-12
    shown = (
        f"{_num(measured)} particles/mL vs. label {_num(labelled)} particles/mL "
        f"({deviation * 100:+.1f} %)"
    )
    return CriterionResult(
        "particle_content",
        label,
        Outcome.PASS if ok else Outcome.FAIL,
        shown,
        shown_limit,
        limit.source,
    )


_MARKER_ALIASES = {"canx": "calnexin"}


def _marker_lookup(markers: Mapping[str, bool]) -> dict[str, bool]:
    table: dict[str, bool] = {}
    for name, detected in markers.items():
        key = name.strip().casefold()
        table[_MARKER_ALIASES.get(key, key)] = detected
    return table


def _markers(coa: CertificateOfAnalysis, panel: MarkerPanel) -> list[CriterionResult]:
    found = _marker_lookup(coa.markers)
    results = []
    for name, wanted in [(m, True) for m in panel.positive] + [(m, False) for m in panel.negative]:
        key = name.strip().casefold()
        detected = found.get(_MARKER_ALIASES.get(key, key))
        limit = "positive (detected)" if wanted else "negative (not detected)"
        if detected is None:
            outcome, shown = Outcome.MISSING, _NOT_REPORTED
        else:
            outcome = Outcome.PASS if detected is wanted else Outcome.FAIL
            shown = "positive (detected)" if detected else "negative (not detected)"
        results.append(
            CriterionResult(
                f"marker:{name}", f"Identity marker {name}", outcome, shown, limit, panel.source
            )
        )
    return results


def _purity(coa: CertificateOfAnalysis, limit: Limit) -> CriterionResult:
    ratio = _finite(coa.particle_protein_ratio_per_ug)
    result = _bound("purity", "Purity (particles per µg protein)", ratio, limit, upper=False)
    if ratio is not None:
        return result
    # Derive the ratio when the certificate gives both quantities but not the ratio
    # (MISEV asks for two quantifications *and* their ratio; the ratio is arithmetic).
    particles = _finite(coa.certified_particles_per_ml)
    protein = _finite(coa.protein_ug_per_ml)
    if particles is None or protein is None or protein <= 0:
        return result
    derived = _bound(
        "purity", "Purity (particles per µg protein)", particles / protein, limit, upper=False
    )
    return CriterionResult(
        derived.key,
        derived.label,
        derived.outcome,
        derived.measured + " (derived: particles/mL ÷ µg protein/mL)",
        derived.limit,
        derived.source,
    )


def _size_window(coa: CertificateOfAnalysis, window: Range, limit: Limit) -> CriterionResult:
    label = f"Particles within {window.low:g}–{window.high:g} nm (NTA)"
    sign = "≥" if limit.inclusive else ">"
    shown_limit = f"{sign} {limit.value:g} %"
    percent = _finite(coa.size_within_window_percent)
    if percent is None or coa.size_window_nm is None:
        return CriterionResult(
            "size_window", label, Outcome.MISSING, _NOT_REPORTED, shown_limit, limit.source
        )
    low, high = coa.size_window_nm
    if not (math.isclose(low, window.low) and math.isclose(high, window.high)):
        # A share of particles in another window cannot be compared with this limit.
        return CriterionResult(
            "size_window",
            label,
            Outcome.MISSING,
            f"{percent:g} % within {low:g}–{high:g} nm (a different window)",
            shown_limit,
            limit.source,
        )
    ok = _compare(percent, limit, upper=False)
    return CriterionResult(
        "size_window",
        label,
        Outcome.PASS if ok else Outcome.FAIL,
        f"{percent:g} %",
        shown_limit,
        limit.source,
    )


def _size_mode(coa: CertificateOfAnalysis, window: Range) -> CriterionResult:
    label = "Size mode (NTA)"
    shown_limit = f"{window.low:g}–{window.high:g} {window.unit}"
    mode = _finite(coa.size_mode_nm)
    if mode is None:
        return CriterionResult(
            "size_mode", label, Outcome.MISSING, _NOT_REPORTED, shown_limit, window.source
        )
    ok = window.low <= mode <= window.high
    return CriterionResult(
        "size_mode",
        label,
        Outcome.PASS if ok else Outcome.FAIL,
        f"{mode:g} nm",
        shown_limit,
        window.source,
    )


def evaluate_release(
    coa: CertificateOfAnalysis, criteria: ReleaseCriteria | None = None
) -> ReleaseEvaluation:
    """Compare a certificate of analysis with every release criterion.

    Parameters
    ----------
    coa : CertificateOfAnalysis
        The lot's certificate.
    criteria : ReleaseCriteria, optional
        The protocol's criteria; the reference defaults when omitted.

    Returns
    -------
    ReleaseEvaluation
        One :class:`CriterionResult` per criterion (one per identity marker),
        in the order of the release checklist. ``releasable`` is True only
        when all pass; a criterion without data is ``missing``, which blocks
        release just as a failure does, because a test that was not reported
        cannot be assumed negative.

    Notes
    -----
    Limits follow ``reference/clinical.md`` §2.3. The endotoxin limit there is
    stated for the final diluted product; it is applied here to the
    certificate's value for the undiluted lot, which can only be higher, so
    the check is conservative.
    """
    c = criteria if criteria is not None else ReleaseCriteria()
    results: list[CriterionResult] = [
        _qualitative("sterility", "Sterility", coa.sterility, c.sterility),
        _qualitative("mycoplasma", "Mycoplasma", coa.mycoplasma, c.mycoplasma),
        _bound(
            "endotoxin",
            "Endotoxin (LAL)",
            coa.endotoxin_eu_per_ml,
            c.endotoxin_max_eu_per_ml,
            upper=True,
        ),
        _particle_content(coa, c.particle_tolerance_fraction),
        *_markers(coa, c.identity),
        _purity(coa, c.purity_min_particles_per_ug),
        _size_window(coa, c.size_window_nm, c.size_within_window_min_percent),
        _size_mode(coa, c.size_mode_nm),
    ]
    return ReleaseEvaluation(tuple(results))
