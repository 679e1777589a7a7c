"""The engine layer behind ``exoneb.dosimetry.deposit``: mass balance, regions, broadcasting,
chunking, particle counts, the ICRP-66 cross-check, ``to_dict``, the nebulizer catalog, the
pinned data files and the FRC prediction.

Sources: issue #2 ("The model" items 2–6, "Interfaces", "Tests and evidence") and
reference/dosimetry.md §1.1 (ICRP-66 lognormal row), §1.4 (Crapo FRC), §5.1–§5.2 (device
chain and catalog).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import numpy as np
import pytest

from exoneb.dosimetry import (
    REGIONS,
    DosimetryInputError,
    _data,
    deposit,
    get_nebulizer,
    nebulizer_catalog,
    simulate_cohort,
)
from exoneb.dosimetry.airways import frc_crapo_ml, region_of_generation, weibel_a_3l
from exoneb.dosimetry.breathing import icrp66_subject
from exoneb.dosimetry.nebulizers import interfaces, validate_spec
from exoneb.dosimetry.plotting import deposition_figure

LOADED_PARTS = (
    "residual",
    "device_losses",
    "interface_losses",
    "lost_during_exhalation",
    "extrathoracic",
    "bronchial",
    "bronchiolar",
    "alveolar",
    "exhaled",
)
INHALED_PARTS = ("extrathoracic", "bronchial", "bronchiolar", "alveolar", "exhaled")

#: (nebulizer, overrides) covering every delivery mode and interface.
DEVICE_CASES: list[tuple[str, dict[str, Any]]] = [
    ("aerogen-solo", {}),
    ("jet-generic", {}),
    ("pari-lc-plus", {}),
    ("ultrasonic-generic", {}),
    ("omron-ne-c801", {}),
    ("delbio-dk010", {}),
    ("aerogen-solo", {"delivery": "breath-actuated"}),
    ("aerogen-solo", {"interface": "valved-mask"}),
    ("innospire-go", {"interface": "open-aerosol-mask"}),
]
BREATHING_CASES: list[dict[str, Any]] = [
    {},
    {"tidal_volume_ml": 750.0, "breaths_per_min": 12.0, "inspiratory_fraction": 0.5},
    {"tidal_volume_ml": 900.0, "breaths_per_min": 8.0, "breath_hold_s": 4.0},
    {"tidal_volume_ml": 350.0, "breaths_per_min": 25.0, "inspiratory_fraction": 0.3},
]
ROUTES = ["mouth", "nose"]

MASS_BALANCE_CASES = [
    pytest.param(neb, over, breath, route, id=f"{neb}{sorted(over)}-b{i}-{route}")
    for (neb, over), (i, breath), route in itertools.product(
        DEVICE_CASES, enumerate(BREATHING_CASES), ROUTES
    )
]


def _f(value: Any) -> float:
    assert value is not None
    return float(value)


# --- mass balance and region identities -------------------------------------------------


@pytest.mark.parametrize(("nebulizer", "overrides", "breathing", "route"), MASS_BALANCE_CASES)
def test_mass_balance(
    nebulizer: str, overrides: dict[str, Any], breathing: dict[str, Any], route: str
) -> None:
    """Issue #2 "Tests": the mass balance sums to 1 within 1e-9 (loaded and inhaled bases).

    Loaded: residual + device + interface + lost during exhalation + ET + bronchial +
    bronchiolar + alveolar + exhaled = 1 (§5.2 chain). Inhaled: ET + BB + bb + AI + exhaled = 1.
    """
    r = deposit(nebulizer=nebulizer, route=route, **overrides, **breathing)
    loaded = sum(_f(r.fractions_of_loaded[k]) for k in LOADED_PARTS)
    inhaled = sum(_f(r.fractions_of_inhaled[k]) for k in INHALED_PARTS)
    assert loaded == pytest.approx(1.0, abs=1e-9)
    assert inhaled == pytest.approx(1.0, abs=1e-9)
    for key, value in r.fractions_of_loaded.items():
        assert 0.0 <= _f(value) <= 1.0, key


@pytest.mark.parametrize(("nebulizer", "overrides", "breathing", "route"), MASS_BALANCE_CASES[::5])
def test_region_identities(
    nebulizer: str, overrides: dict[str, Any], breathing: dict[str, Any], route: str
) -> None:
    """Issue #2 "Interfaces": tracheobronchial = bronchial + bronchiolar; lung = TB + alveolar;
    by_generation sums to lung, its slices to the regions (BB 0–8, bb 9–15, AI 16–23); by_phase
    sums to the deposited total (ET + lung)."""
    r = deposit(nebulizer=nebulizer, route=route, **overrides, **breathing)
    for basis in (r.fractions_of_inhaled, r.fractions_of_loaded):
        assert _f(basis["tracheobronchial"]) == pytest.approx(
            _f(basis["bronchial"]) + _f(basis["bronchiolar"]), abs=1e-12
        )
        assert _f(basis["lung"]) == pytest.approx(
            _f(basis["tracheobronchial"]) + _f(basis["alveolar"]), abs=1e-12
        )
    inh = r.fractions_of_inhaled
    gen = r.by_generation
    assert gen is not None
    assert gen.shape == (24,)
    assert np.all(gen >= 0)
    assert gen.sum() == pytest.approx(_f(inh["lung"]), abs=1e-12)
    assert gen[0:9].sum() == pytest.approx(_f(inh["bronchial"]), abs=1e-12)
    assert gen[9:16].sum() == pytest.approx(_f(inh["bronchiolar"]), abs=1e-12)
    assert gen[16:24].sum() == pytest.approx(_f(inh["alveolar"]), abs=1e-12)
    assert r.by_phase is not None
    assert set(r.by_phase) == {"inhalation", "breath_hold", "exhalation"}
    deposited = _f(inh["extrathoracic"]) + _f(inh["lung"])
    assert sum(_f(v) for v in r.by_phase.values()) == pytest.approx(deposited, abs=1e-12)
    assert deposited == pytest.approx(1.0 - _f(inh["exhaled"]), abs=1e-12)
    if not breathing.get("breath_hold_s"):
        assert _f(r.by_phase["breath_hold"]) == 0.0
    else:
        assert _f(r.by_phase["breath_hold"]) > 0.0


def test_loaded_is_inhaled_times_inhaled_share() -> None:
    """§5.2: every deposited region of the loaded dose = its fraction of inhaled × D_inh/D_load."""
    r = deposit(nebulizer="jet-generic")
    share = 1.0 - sum(
        _f(r.fractions_of_loaded[k])
        for k in ("residual", "device_losses", "interface_losses", "lost_during_exhalation")
    )
    for key in REGIONS:
        assert _f(r.fractions_of_loaded[key]) == pytest.approx(
            _f(r.fractions_of_inhaled[key]) * share, rel=1e-12
        )


def test_device_chain_duration_and_duty_cycle() -> None:
    """§5.2: continuous output — T_i/T_tot of the emitted dose is inhaled; time = (fill − res)/rate.

    Aerogen Solo defaults (fill 3, residual 0.1 mL, 0.38 mL/min, device loss 0.03,
    mouthpiece 1.0); inspiratory fraction 0.4 → inhaled = (1 − 0.1/3 − 0.03)·0.4.
    """
    r = deposit(nebulizer="aerogen-solo", inspiratory_fraction=0.4)
    emitted = 1.0 - 0.1 / 3.0 - 0.03
    assert _f(r.duration_min) == pytest.approx((3.0 - 0.1) / 0.38, rel=1e-12)
    assert _f(r.fractions_of_loaded["residual"]) == pytest.approx(0.1 / 3.0, rel=1e-12)
    assert _f(r.fractions_of_loaded["lost_during_exhalation"]) == pytest.approx(
        emitted * 0.6, rel=1e-12
    )
    actuated = deposit(nebulizer="aerogen-solo", delivery="breath-actuated")
    assert _f(actuated.fractions_of_loaded["lost_during_exhalation"]) == pytest.approx(0.0)
    assert _f(actuated.duration_min) == pytest.approx((3.0 - 0.1) / (0.38 * 0.4), rel=1e-12)


# --- broadcasting and chunking ----------------------------------------------------------

SUBJECT_ARRAYS: dict[str, np.ndarray] = {
    "tidal_volume_ml": np.array([400.0, 500.0, 650.0, 800.0, 1000.0]),
    "breaths_per_min": np.array([10.0, 12.0, 15.0, 8.0, 20.0]),
    "inspiratory_fraction": np.array([0.3, 0.4, 0.5, 0.45, 0.35]),
    "mmad_um": np.array([1.0, 2.5, 4.0, 6.0, 3.1]),
    "gsd": np.array([1.0, 1.8, 2.0, 2.5, 1.5]),
    "frc_ml": np.array([2500.0, 3000.0, 3300.0, 4000.0, 3600.0]),
}


def _compare(array_result: Any, scalar_result: Any, index: Any) -> None:
    for basis in ("fractions_of_inhaled", "fractions_of_loaded"):
        for key, value in getattr(scalar_result, basis).items():
            got = np.asarray(getattr(array_result, basis)[key])[index]
            assert got == pytest.approx(_f(value), abs=1e-12), (basis, key, index)
    assert array_result.by_generation[index] == pytest.approx(
        scalar_result.by_generation, abs=1e-12
    )
    assert np.asarray(array_result.duration_min)[index] == pytest.approx(
        _f(scalar_result.duration_min)
    )


def test_broadcasting_equals_scalar_calls() -> None:
    """Issue #2 "Interfaces": inputs broadcast, so one call evaluates many subjects or devices.

    Per-subject breathing, FRC and per-subject MMAD/GSD arrays: element i of the array call
    equals the scalar call with element i of every input (1e-12).
    """
    r = deposit(nebulizer="pari-lc-plus", **SUBJECT_ARRAYS)
    assert np.shape(r.fractions_of_inhaled["lung"]) == (5,)
    assert r.by_generation is not None
    assert r.by_generation.shape == (5, 24)
    for i in range(5):
        scalar = deposit(
            nebulizer="pari-lc-plus", **{k: float(v[i]) for k, v in SUBJECT_ARRAYS.items()}
        )
        _compare(r, scalar, i)


def test_broadcasting_two_dimensional() -> None:
    """Issue #2: a (2, 1) MMAD column against a (3,) tidal-volume row broadcasts to (2, 3)."""
    mmad = np.array([[2.0], [5.0]])
    vt = np.array([400.0, 600.0, 900.0])
    r = deposit(mmad_um=mmad, tidal_volume_ml=vt, breaths_per_min=10.0, frc_ml=3000.0)
    assert np.shape(r.fractions_of_loaded["lung"]) == (2, 3)
    assert r.by_generation is not None
    assert r.by_generation.shape == (2, 3, 24)
    for i, j in itertools.product(range(2), range(3)):
        scalar = deposit(
            mmad_um=float(mmad[i, 0]),
            tidal_volume_ml=float(vt[j]),
            breaths_per_min=10.0,
            frc_ml=3000.0,
        )
        _compare(r, scalar, (i, j))


def test_broadcasting_breath_hold_array() -> None:
    """Issue #2: every numeric input broadcasts — including ``breath_hold_s`` alone.

    ``deposit(breath_hold_s=[0, 1, 2, 3])`` with scalar breathing rate and inspiratory
    fraction must equal the four scalar calls.
    """
    holds = np.array([0.0, 1.0, 2.0, 3.0])
    r = deposit(breath_hold_s=holds, breaths_per_min=10.0)
    for i, hold in enumerate(holds):
        _compare(r, deposit(breath_hold_s=float(hold), breaths_per_min=10.0), i)


def test_broadcasting_sex_age_height() -> None:
    """Issue #2 item 2: FRC from sex/height/age (Crapo 1982) per subject, with arrays of sexes."""
    sex = np.array(["male", "female", "F", "m"])
    age = np.array([30.0, 60.0, 45.0, 70.0])
    r = deposit(sex=sex, age_years=age, height_cm=170.0)
    for i in range(4):
        _compare(r, deposit(sex=str(sex[i]), age_years=float(age[i]), height_cm=170.0), i)


@pytest.mark.parametrize("per_subject_aerosol", [False, True])
def test_chunk_size_invariance(per_subject_aerosol: bool) -> None:
    """model.py docstring: subjects are processed in chunks; chunk_size 3 vs 1024 gives the same
    result to 1e-12 (shared aerosol and per-subject MMAD/GSD)."""
    rng = np.random.default_rng(7)
    n = 17
    kwargs: dict[str, Any] = {
        "tidal_volume_ml": rng.uniform(300, 1000, n),
        "breaths_per_min": rng.uniform(8, 20, n),
        "frc_ml": rng.uniform(2500, 4500, n),
        "breath_hold_s": 0.5,
    }
    if per_subject_aerosol:
        kwargs.update(mmad_um=rng.uniform(1, 6, n), gsd=rng.uniform(1.2, 2.5, n))
    small = deposit(chunk_size=3, **kwargs)
    large = deposit(chunk_size=1024, **kwargs)
    for basis in ("fractions_of_inhaled", "fractions_of_loaded"):
        for key, value in getattr(small, basis).items():
            np.testing.assert_allclose(value, getattr(large, basis)[key], rtol=0, atol=1e-12)
    np.testing.assert_allclose(small.by_generation, large.by_generation, rtol=0, atol=1e-12)
    for phase, value in (small.by_phase or {}).items():
        np.testing.assert_allclose(value, (large.by_phase or {})[phase], rtol=0, atol=1e-12)


# --- particle counts ----------------------------------------------------------------------


def test_dose_particles() -> None:
    """Issue #2 "Interfaces": with dose_particles, particles per region = fraction of loaded × dose,
    and lung_intact = lung × dose × intact fraction (§5.2, D_EV,intact)."""
    dose = 2.5e10
    r = deposit(nebulizer="jet-generic", dose_particles=dose)
    assert r.particles is not None
    for key, fraction in r.fractions_of_loaded.items():
        assert _f(r.particles[key]) == pytest.approx(_f(fraction) * dose, rel=1e-12), key
    intact = get_nebulizer("jet-generic").intact_fraction
    assert _f(r.particles["lung_intact"]) == pytest.approx(
        _f(r.fractions_of_loaded["lung"]) * dose * intact, rel=1e-12
    )
    custom = deposit(nebulizer="jet-generic", dose_particles=dose, intact_fraction=0.25)
    assert custom.particles is not None
    assert _f(custom.particles["lung_intact"]) == pytest.approx(
        _f(custom.fractions_of_loaded["lung"]) * dose * 0.25, rel=1e-12
    )
    assert deposit(nebulizer="jet-generic").particles is None


# --- the ICRP-66 cross-check --------------------------------------------------------------


def test_icrp66_model_fields() -> None:
    """Issue #2: for icrp66 the fields it cannot give are None (bronchial, bronchiolar, exhaled,
    by_generation), and §1.1 lognormal row MMAD 3 µm, GSD 2: HA 0.6773, TB 0.0455, AL 0.0867
    (of inhaled) within 2e-3 (§3.1 case #5 tolerance)."""
    r = deposit(model="icrp66", mmad_um=3.0, gsd=2.0)
    assert r.model == "icrp66"
    inh = r.fractions_of_inhaled
    for key in ("bronchial", "bronchiolar", "exhaled"):
        assert inh[key] is None
        assert r.fractions_of_loaded[key] is None
    assert r.by_generation is None
    assert abs(_f(inh["extrathoracic"]) - 0.6773) <= 2e-3
    assert abs(_f(inh["tracheobronchial"]) - 0.0455) <= 2e-3
    assert abs(_f(inh["alveolar"]) - 0.0867) <= 2e-3
    assert _f(inh["lung"]) == pytest.approx(_f(inh["tracheobronchial"]) + _f(inh["alveolar"]))
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["by_generation"] is None
    assert d["fractions_of_inhaled"]["bronchial"] is None


def test_icrp66_monodisperse_matches_table() -> None:
    """§1.1 / §3.1 case #2: d = 3 µm with gsd = 1 → HA 0.7531, TB 0.0605, AL 0.0955 (1e-4)."""
    inh = deposit(model="icrp66", mmad_um=3.0, gsd=1.0).fractions_of_inhaled
    assert abs(_f(inh["extrathoracic"]) - 0.7531) <= 1e-4
    assert abs(_f(inh["tracheobronchial"]) - 0.0605) <= 1e-4
    assert abs(_f(inh["alveolar"]) - 0.0955) <= 1e-4


def test_gsd_one_is_monodisperse() -> None:
    """Issue #2 Bad input: GSD ≥ 1 is valid, 1 means monodisperse; n_bins is then irrelevant."""
    a = deposit(mmad_um=3.0, gsd=1.0, n_bins=40)
    b = deposit(mmad_um=3.0, gsd=1.0, n_bins=1)
    assert 0.0 < _f(a.fractions_of_inhaled["lung"]) < 1.0
    for key, value in a.fractions_of_inhaled.items():
        assert _f(value) == pytest.approx(_f(b.fractions_of_inhaled[key]), abs=1e-12)
    # A narrow lognormal converges to it.
    narrow = deposit(mmad_um=3.0, gsd=1.01)
    assert _f(narrow.fractions_of_inhaled["lung"]) == pytest.approx(
        _f(a.fractions_of_inhaled["lung"]), abs=2e-3
    )


# --- to_dict -------------------------------------------------------------------------------


def test_to_dict_json_and_keys() -> None:
    """Issue #2 "Interfaces": deposit --json keys — model, inputs (all resolved values, catalog
    defaults included), duration_min, fractions_of_loaded/of_inhaled with the region keys
    (+ residual, lost_during_exhalation on loaded), by_generation [{generation,
    fraction_of_inhaled}], particles with lung_intact."""
    r = deposit(nebulizer="omron-ne-u22", dose_particles=1e9)
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    for key in ("model", "inputs", "duration_min", "fractions_of_loaded", "fractions_of_inhaled"):
        assert key in d
    assert d["model"] == "weibel"
    for key in REGIONS:
        assert isinstance(d["fractions_of_inhaled"][key], float)
        assert isinstance(d["fractions_of_loaded"][key], float)
        assert isinstance(d["particles"][key], float)
    assert set(REGIONS) == {
        "extrathoracic",
        "bronchial",
        "bronchiolar",
        "tracheobronchial",
        "alveolar",
        "lung",
        "exhaled",
    }
    for key in ("residual", "lost_during_exhalation"):
        assert isinstance(d["fractions_of_loaded"][key], float)
    assert isinstance(d["particles"]["lung_intact"], float)
    assert [g["generation"] for g in d["by_generation"]] == list(range(24))
    assert all(set(g) == {"generation", "fraction_of_inhaled"} for g in d["by_generation"])
    spec = get_nebulizer("omron-ne-u22")
    inputs = d["inputs"]
    assert inputs["mmad_um"] == spec.mmad_um
    assert inputs["gsd"] == spec.gsd
    assert inputs["fill_ml"] == spec.default_fill_ml
    assert inputs["output_rate_ml_min"] == spec.output_rate_ml_min
    assert inputs["residual_ml"] == spec.residual_ml
    assert inputs["intact_fraction"] == spec.intact_fraction
    for key in (
        "nebulizer",
        "delivery",
        "tidal_volume_ml",
        "breaths_per_min",
        "inspiratory_fraction",
        "breath_hold_s",
        "route",
        "sex",
        "age_years",
        "height_cm",
        "frc_ml",
        "dose_particles",
        "model",
    ):
        assert key in inputs, key


def test_to_dict_arrays_are_lists() -> None:
    """Issue #2: array inputs give JSON lists (allow_nan=False) of the broadcast shape."""
    r = deposit(tidal_volume_ml=[400.0, 600.0])
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert isinstance(d["fractions_of_loaded"]["lung"], list)
    assert len(d["fractions_of_loaded"]["lung"]) == 2
    assert len(d["by_generation"][0]["fraction_of_inhaled"]) == 2


# --- catalog -----------------------------------------------------------------------------

SOURCED_FIELDS = ("mmad_um", "gsd", "output_rate_ml_min", "residual_ml", "intact_fraction")


@pytest.mark.parametrize("device_id", sorted(nebulizer_catalog()))
def test_catalog_device_validates_and_runs(device_id: str) -> None:
    """Issue #2 item 4: a catalog of mesh, jet, breath-enhanced jet and ultrasonic devices; every
    device validates, has sane values and gives a balanced estimate with its defaults."""
    spec = nebulizer_catalog()[device_id]
    validate_spec(spec)
    assert spec.id == device_id
    assert 0.1 <= spec.mmad_um <= 20.0
    assert spec.gsd >= 1.0
    if spec.is_inhaler:  # one actuation per breath: no reservoir, no output rate
        assert spec.output_rate_ml_min == spec.residual_ml == spec.default_fill_ml == 0.0
    else:
        assert spec.output_rate_ml_min > 0
        assert 0.0 <= spec.residual_ml < spec.default_fill_ml
    assert 0.0 <= spec.intact_fraction <= 1.0
    assert spec.interface in interfaces()
    r = deposit(nebulizer=device_id)
    assert sum(_f(r.fractions_of_loaded[k]) for k in LOADED_PARTS) == pytest.approx(1.0, abs=1e-9)


def test_catalog_covers_device_kinds() -> None:
    """Issue #2 item 4: vibrating mesh, jet, breath-enhanced jet and ultrasonic are all present."""
    kinds = {spec.kind for spec in nebulizer_catalog().values()}
    assert kinds >= {"vibrating-mesh", "jet", "breath-enhanced-jet", "ultrasonic"}


@pytest.mark.parametrize("device_id", sorted(nebulizer_catalog()))
def test_catalog_sources(device_id: str) -> None:
    """Issue #2 item 4: catalog values are "marked as assumptions with sources" — every device
    has a source note for mmad_um, gsd, output_rate_ml_min, residual_ml and intact_fraction,
    tagged [source], [unverified], [computed] or [design default] ([not applicable] for the
    reservoir fields of inhalers)."""
    sources = nebulizer_catalog()[device_id].sources
    for name in SOURCED_FIELDS:
        note = sources.get(name, "")
        assert note.strip(), f"{device_id}: no source note for {name}"
        assert any(
            tag in note
            for tag in (
                "[source",
                "[unverified]",
                "[computed]",
                "[design default]",
                "[not applicable]",
            )
        ), f"{device_id}.{name}: {note!r}"


def test_ultrasonic_devices_warn_about_heat() -> None:
    """§5.1: ultrasonic reservoirs heat up (denaturation probable): a heat warning is attached."""
    ultrasonic = [s for s in nebulizer_catalog().values() if s.kind == "ultrasonic"]
    assert ultrasonic
    for spec in ultrasonic:
        assert spec.heat_sensitive_warning
        warnings = deposit(nebulizer=spec.id).warnings
        assert any("heat" in w for w in warnings)
    assert deposit(nebulizer="aerogen-solo").warnings == []


def test_unknown_nebulizer_lists_known_ids() -> None:
    """Issue #2 Bad input: an unknown nebulizer is refused with a message listing the known ids."""
    with pytest.raises(DosimetryInputError) as info:
        deposit(nebulizer="acme-9000")
    assert info.value.field == "nebulizer"
    message = str(info.value)
    assert "acme-9000" in message
    for device_id in nebulizer_catalog():
        assert device_id in message


def test_catalog_overrides() -> None:
    """Issue #2 item 4: every catalog value can be overridden."""
    r = deposit(
        nebulizer="aerogen-solo",
        mmad_um=4.0,
        gsd=2.0,
        fill_ml=4.0,
        output_rate_ml_min=0.5,
        residual_ml=0.2,
        intact_fraction=0.5,
        delivery="breath-actuated",
        interface="valved-mask",
    )
    inputs = r.inputs
    assert (float(inputs["mmad_um"]), float(inputs["gsd"])) == (4.0, 2.0)
    assert (float(inputs["fill_ml"]), float(inputs["residual_ml"])) == (4.0, 0.2)
    assert float(inputs["output_rate_ml_min"]) == 0.5
    assert float(inputs["intact_fraction"]) == 0.5
    assert inputs["delivery"] == "breath-actuated"
    assert inputs["interface"] == "valved-mask"
    assert inputs["route"] == "nose"
    assert _f(r.fractions_of_loaded["residual"]) == pytest.approx(0.2 / 4.0)


# --- pinned data files ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(_data.PINNED_SHA256))
def test_pinned_data_files_match(name: str) -> None:
    """data/SOURCES.md: the shipped files match their recorded sha256."""
    raw = _data.read_data_bytes(name)
    assert hashlib.sha256(raw).hexdigest() == _data.PINNED_SHA256[name]


class _FakeResource:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def joinpath(self, *_parts: str) -> _FakeResource:
        return self

    def read_bytes(self) -> bytes:
        return self.payload


@pytest.mark.parametrize("name", sorted(_data.PINNED_SHA256))
def test_tampered_data_file_raises(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """_data docstring: a pinned file edited by accident fails loudly (DataIntegrityError).

    The bytes read through importlib.resources are replaced by a copy with one byte changed.
    """
    original = _data.read_data_bytes(name)
    tampered = original[:-1] + bytes([original[-1] ^ 0x01])

    class _FakeResources:
        @staticmethod
        def files(_package: str) -> _FakeResource:
            return _FakeResource(tampered)

    monkeypatch.setattr(_data, "resources", _FakeResources)
    with pytest.raises(_data.DataIntegrityError, match=name):
        _data.read_data_bytes(name)
    with pytest.raises(_data.DataIntegrityError):
        _data.read_data_text(name)


# --- FRC -------------------------------------------------------------------------------------


def test_frc_crapo_example() -> None:
    """§1.4: Crapo 1982, male 176 cm, 30 y → 3.29 L (0.0472·176 + 0.009·30 − 5.29 = 3.2872 L)."""
    assert float(frc_crapo_ml("male", 176.0, 30.0)) == pytest.approx(3290.0, abs=5.0)
    assert float(frc_crapo_ml("male", 176.0, 30.0)) == pytest.approx(3287.2, abs=1e-6)
    female = 0.0360 * 165.0 + 0.0031 * 50.0 - 3.182
    assert float(frc_crapo_ml("female", 165.0, 50.0)) == pytest.approx(female * 1000.0)
    r = deposit(sex="male", height_cm=176.0, age_years=30.0)
    assert float(r.inputs["frc_ml"]) == pytest.approx(3287.2, abs=1e-6)
    assert r.inputs["frc_source"] == "Crapo 1982 prediction"


def test_chunk_size_invariance_large_call() -> None:
    """model.py docstring: chunking does not change results, also for calls large enough to
    share precomputed mechanism grids (2100 subjects, one aerosol): chunk_size 7 vs 1024
    identical to 1e-12."""
    rng = np.random.default_rng(5)
    n = 2100
    kwargs: dict[str, Any] = {
        "tidal_volume_ml": rng.uniform(300, 1000, n),
        "breaths_per_min": rng.uniform(8, 20, n),
        "frc_ml": rng.uniform(2500, 4500, n),
        "mmad_um": 8.0,
        "gsd": 1.0,
    }
    small = deposit(chunk_size=7, **kwargs)
    large = deposit(chunk_size=1024, **kwargs)
    for key, value in small.fractions_of_inhaled.items():
        np.testing.assert_allclose(value, large.fractions_of_inhaled[key], rtol=0, atol=1e-12)
    np.testing.assert_allclose(small.by_generation, large.by_generation, rtol=0, atol=1e-12)


# --- airways, breathing, cohort, plotting ----------------------------------------------------


def test_weibel_3l_table_volumes() -> None:
    """§2.1 checks [computed]: 3L-scaled tree — conducting tubes (gens 0–16) 109 mL, all tubes
    998 mL, alveolar add-on 2002 mL on gens 17–23, total 3000 mL; trachea d 1.539 cm,
    L 10.26 cm; 2**z tubes per generation."""
    table = weibel_a_3l()
    ml = 1e6
    assert table.tube_volume_m3[:17].sum() * ml == pytest.approx(109.0, abs=1.0)
    assert table.tube_volume_m3.sum() * ml == pytest.approx(998.0, abs=2.0)
    assert table.alveolar_volume_m3.sum() * ml == pytest.approx(2002.0, abs=2.0)
    assert np.all(table.alveolar_volume_m3[:17] == 0.0)
    total = (table.tube_volume_m3 + table.alveolar_volume_m3).sum() * ml
    assert total == pytest.approx(3000.0, abs=1e-9)
    assert table.diameter_m[0] == pytest.approx(1.539e-2)
    assert table.length_m[0] == pytest.approx(10.26e-2)
    np.testing.assert_array_equal(table.n_tubes, 2.0 ** np.arange(24))


def test_regions_of_generations() -> None:
    """Issue #2 item 2: regions bronchial (0–8), bronchiolar (9–15), alveolar (16–23)."""
    assert [region_of_generation(g) for g in (0, 8, 9, 15, 16, 23)] == [
        "bronchial",
        "bronchial",
        "bronchiolar",
        "bronchiolar",
        "alveolar",
        "alveolar",
    ]
    with pytest.raises(DosimetryInputError):
        region_of_generation(24)


def test_icrp66_subject_table15() -> None:
    """ICRP-66 Table 15 (data/hrtm_subjects_breathing.json): adult male sitting V_T 750 mL,
    12 /min, 300 mL/s (V_T over half the period), FRC 3301 mL; an unknown activity is refused."""
    s = icrp66_subject("male", "sitting")
    assert s.flow_ml_s == pytest.approx(s.tidal_volume_ml / (60.0 / s.breaths_per_min / 2.0))
    with pytest.raises(DosimetryInputError):
        icrp66_subject("male", "jogging")  # type: ignore[arg-type]


def test_simulate_cohort_reproducible() -> None:
    """Issue #2 item 6: virtual cohorts are seeded and reproducible; percentiles (5–95) of each
    region's fraction of the loaded dose; subject characteristics cannot be passed."""
    a = simulate_cohort(60, 9, nebulizer="jet-generic")
    b = simulate_cohort(60, 9, nebulizer="jet-generic")
    assert a.percentiles == b.percentiles
    np.testing.assert_array_equal(a.subjects.frc_ml, b.subjects.frc_ml)
    assert simulate_cohort(60, 10, nebulizer="jet-generic").percentiles != a.percentiles
    lung = np.asarray(a.result.fractions_of_loaded["lung"])
    assert lung.shape == (60,)
    expected = np.percentile(lung, [5, 25, 50, 75, 95])
    assert list(a.percentiles["lung"].values()) == pytest.approx(list(expected))
    for region in REGIONS:
        qs = list(a.percentiles[region].values())
        assert qs == sorted(qs)
    with pytest.raises(DosimetryInputError) as info:
        simulate_cohort(10, 0, tidal_volume_ml=500.0)
    assert info.value.field == "tidal_volume_ml"


def test_deposition_figure() -> None:
    """plotting.py: two panels (by generation, loaded dose by region) for one subject; a result
    holding several subjects is refused."""
    fig = deposition_figure(deposit(nebulizer="jet-generic"))
    assert len(fig.axes) == 2
    gen_axis = fig.axes[0]
    assert len(gen_axis.patches) >= 24  # one bar per generation (+ legend handles)
    with pytest.raises(ValueError, match="one subject"):
        deposition_figure(deposit(tidal_volume_ml=[400.0, 600.0]))
