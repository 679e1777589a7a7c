"""``exoneb deposit``, ``exoneb cohort`` and ``exoneb nebulizers`` (issue #2, "Interfaces").

- ``--json`` prints exactly one JSON object with the issue's keys, and its numbers are
  those of :func:`exoneb.dosimetry.deposit` / :func:`simulate_cohort` for the same inputs;
- every option of the issue's list is accepted (``--n`` and ``--seed`` by ``cohort``);
- bad input exits 2 with a message on stderr naming the option;
- ``--plot FILE.png`` writes a PNG; the human-readable output carries the disclaimer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import exoneb.cli
from exoneb.cli.dose import DISCLAIMER
from exoneb.dosimetry import REGIONS, deposit, nebulizer_catalog, simulate_cohort

exoneb.cli._register()
app = exoneb.cli.app
runner = CliRunner()

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PERCENTILE_KEYS = ["p5", "p25", "p50", "p75", "p95"]


def _invoke(*args: str) -> Any:
    """Run the CLI as in an 80-column terminal (rich reads COLUMNS), whatever the CI sets."""
    return runner.invoke(app, list(args), env={"COLUMNS": "80"})


def _single_json(stdout: str) -> dict[str, Any]:
    """Issue #2: ``--json`` prints exactly one JSON object (one line, nothing else)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, stdout
    payload = json.loads(lines[0])
    assert isinstance(payload, dict)
    return payload


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- deposit --json -------------------------------------------------------------------------


def test_deposit_json_keys_and_numbers() -> None:
    """Issue #2 "Interfaces": deposit --json keys (model, inputs, duration_min,
    fractions_of_loaded/of_inhaled with the region keys, residual and lost_during_exhalation
    on loaded, by_generation [{generation, fraction_of_inhaled}], particles with lung_intact)
    and the numbers of ``deposit()`` with the same inputs."""
    result = _invoke(
        "deposit",
        "--json",
        "--nebulizer",
        "jet-generic",
        "--tidal-volume-ml",
        "650",
        "--breaths-per-min",
        "12",
        "--dose-particles",
        "1e10",
    )
    assert result.exit_code == 0, result.output
    payload = _single_json(result.stdout)
    for key in ("model", "inputs", "duration_min", "fractions_of_loaded", "fractions_of_inhaled"):
        assert key in payload
    for basis in ("fractions_of_loaded", "fractions_of_inhaled"):
        for region in REGIONS:
            assert isinstance(payload[basis][region], float), (basis, region)
    for key in ("residual", "lost_during_exhalation"):
        assert isinstance(payload["fractions_of_loaded"][key], float)
    assert [row["generation"] for row in payload["by_generation"]] == list(range(24))
    assert all(
        set(row) == {"generation", "fraction_of_inhaled"} for row in payload["by_generation"]
    )
    for region in (*REGIONS, "lung_intact"):
        assert isinstance(payload["particles"][region], float), region

    expected = deposit(
        nebulizer="jet-generic", tidal_volume_ml=650.0, breaths_per_min=12.0, dose_particles=1e10
    ).to_dict()
    assert payload == json.loads(json.dumps(expected, allow_nan=False))


def test_deposit_json_without_dose_has_no_particles() -> None:
    """Issue #2: the particles object comes "with --dose-particles" only."""
    result = _invoke("deposit", "--json")
    assert result.exit_code == 0, result.output
    assert _single_json(result.stdout)["particles"] is None


def test_deposit_accepts_every_option() -> None:
    """Issue #2 "Interfaces": options name their units; every one of the issue's list is accepted
    (deposit: all but --n/--seed, which belong to cohort), and the values reach the model."""
    args = [
        "deposit",
        "--json",
        "--mmad-um",
        "3.3",
        "--gsd",
        "1.7",
        "--fill-ml",
        "2.8",
        "--output-rate-ml-min",
        "0.4",
        "--residual-ml",
        "0.15",
        "--delivery",
        "breath-actuated",
        "--nebulizer",
        "innospire-go",
        "--tidal-volume-ml",
        "600",
        "--breaths-per-min",
        "10",
        "--inspiratory-fraction",
        "0.45",
        "--breath-hold-s",
        "1.5",
        "--route",
        "nose",
        "--sex",
        "female",
        "--age",
        "52",
        "--height-cm",
        "163",
        "--frc-ml",
        "2900",
        "--dose-particles",
        "5e9",
        "--model",
        "weibel",
    ]
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    payload = _single_json(result.stdout)
    inputs = payload["inputs"]
    assert (inputs["mmad_um"], inputs["gsd"], inputs["fill_ml"]) == (3.3, 1.7, 2.8)
    assert (inputs["output_rate_ml_min"], inputs["residual_ml"]) == (0.4, 0.15)
    assert inputs["delivery"] == "breath-actuated"
    assert inputs["nebulizer"] == "innospire-go"
    assert (inputs["tidal_volume_ml"], inputs["breaths_per_min"]) == (600.0, 10.0)
    assert (inputs["inspiratory_fraction"], inputs["breath_hold_s"]) == (0.45, 1.5)
    assert inputs["route"] == "nose"
    assert inputs["sex"] == "female"
    assert (inputs["age_years"], inputs["height_cm"], inputs["frc_ml"]) == (52.0, 163.0, 2900.0)
    assert inputs["dose_particles"] == 5e9
    assert payload["model"] == "weibel"
    expected = deposit(
        nebulizer="innospire-go",
        mmad_um=3.3,
        gsd=1.7,
        fill_ml=2.8,
        output_rate_ml_min=0.4,
        residual_ml=0.15,
        delivery="breath-actuated",
        tidal_volume_ml=600.0,
        breaths_per_min=10.0,
        inspiratory_fraction=0.45,
        breath_hold_s=1.5,
        route="nose",
        sex="female",
        age_years=52.0,
        height_cm=163.0,
        frc_ml=2900.0,
        dose_particles=5e9,
    ).to_dict()
    assert payload == json.loads(json.dumps(expected, allow_nan=False))


def test_deposit_icrp66_json_has_nulls() -> None:
    """Issue #2: "For icrp66 the fields it cannot give are null" (bronchial, bronchiolar,
    exhaled, by_generation)."""
    result = _invoke("deposit", "--model", "icrp66", "--json")
    assert result.exit_code == 0, result.output
    payload = _single_json(result.stdout)
    assert payload["model"] == "icrp66"
    assert payload["by_generation"] is None
    for basis in ("fractions_of_loaded", "fractions_of_inhaled"):
        for key in ("bronchial", "bronchiolar", "exhaled"):
            assert payload[basis][key] is None, (basis, key)
        for key in ("extrathoracic", "tracheobronchial", "alveolar", "lung"):
            assert isinstance(payload[basis][key], float), (basis, key)


# --- cohort --json --------------------------------------------------------------------------


def test_cohort_json_reproducible() -> None:
    """Issue #2: cohort --json gives n, seed, percentiles (5, 25, 50, 75, 95) of each region's
    fraction of loaded dose, and subjects_per_second; seeded, so two runs are identical except
    for subjects_per_second, and equal to ``simulate_cohort(200, 3)``."""
    first = _invoke("cohort", "--json", "--n", "200", "--seed", "3")
    second = _invoke("cohort", "--json", "--n", "200", "--seed", "3")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    a, b = _single_json(first.stdout), _single_json(second.stdout)
    assert (a["n"], a["seed"]) == (200, 3)
    assert isinstance(a["subjects_per_second"], float)
    assert a["subjects_per_second"] > 0
    assert set(a["percentiles"]) == set(REGIONS)
    for region, qs in a["percentiles"].items():
        assert list(qs) == PERCENTILE_KEYS, region
        values = [qs[k] for k in PERCENTILE_KEYS]
        assert values == sorted(values), region
        assert all(0.0 <= v <= 1.0 for v in values), region
    a.pop("subjects_per_second")
    b.pop("subjects_per_second")
    assert a == b
    expected = simulate_cohort(200, 3).percentiles
    assert a["percentiles"] == json.loads(json.dumps(expected))
    other = _single_json(_invoke("cohort", "--json", "--n", "200", "--seed", "4").stdout)
    assert other["percentiles"] != a["percentiles"]


def test_cohort_accepts_n_seed_and_device_options() -> None:
    """Issue #2 option list for cohort: --n, --seed and the device options, incl. --model."""
    result = _invoke(
        "cohort",
        "--json",
        "--n",
        "20",
        "--seed",
        "1",
        "--nebulizer",
        "pari-lc-plus",
        "--mmad-um",
        "3",
        "--gsd",
        "2",
        "--fill-ml",
        "3",
        "--output-rate-ml-min",
        "0.5",
        "--residual-ml",
        "0.8",
        "--delivery",
        "breath-enhanced",
        "--breath-hold-s",
        "0.5",
        "--route",
        "mouth",
        "--dose-particles",
        "1e9",
        "--model",
        "weibel",
    )
    assert result.exit_code == 0, result.output
    payload = _single_json(result.stdout)
    assert (payload["n"], payload["seed"], payload["nebulizer"]) == (20, 1, "pari-lc-plus")


# --- bad input ----------------------------------------------------------------------------

BAD_ARGS: list[tuple[list[str], str, str | None]] = [
    (["deposit", "--gsd", "0.5"], "--gsd", "0.5"),
    (["deposit", "--mmad-um", "25"], "--mmad-um", "25"),
    (["deposit", "--fill-ml", "0"], "--fill-ml", "0"),
    (["deposit", "--tidal-volume-ml", "0"], "--tidal-volume-ml", "0"),
    (["deposit", "--inspiratory-fraction", "1"], "--inspiratory-fraction", "1"),
    (["deposit", "--breath-hold-s", "10"], "--breath-hold-s", "10"),
    (["deposit", "--age", "10"], "--age", "10"),
    (["deposit", "--nebulizer", "acme-9000"], "--nebulizer", "acme-9000"),
    (["deposit", "--sex", "x"], "--sex", "x"),
    (["deposit", "--route", "ear"], "--route", "ear"),
    (["deposit", "--model", "mppd"], "--model", "mppd"),
    # Click's own range message ("Invalid value for '--n': … ≥ 1") omits the value.
    (["cohort", "--n", "0"], "--n", None),
    (["cohort", "--gsd", "0.5"], "--gsd", "0.5"),
]
BAD_IDS = [" ".join(a) for a, _, _ in BAD_ARGS]


@pytest.mark.parametrize(("args", "option", "value"), BAD_ARGS, ids=BAD_IDS)
def test_bad_input_exits_2_with_message(args: list[str], option: str, value: str | None) -> None:
    """Issue #2 "Bad input": the CLI exits 2 on usage errors, with a message on stderr (stdout
    empty) naming the field and the value."""
    result = _invoke(*args, "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = _flat(result.stderr)
    field = option.lstrip("-").replace("-", "_")
    assert field.split("_")[0] in message.replace("-", "_"), message
    if value is not None:
        assert value in message, message


@pytest.mark.parametrize(("args", "option", "value"), BAD_ARGS, ids=BAD_IDS)
def test_bad_input_names_the_option(args: list[str], option: str, value: str | None) -> None:
    """Issue #2 "Bad input" (message naming the field) for a CLI user: stderr names the option as
    typed on the command line (e.g. ``--tidal-volume-ml``, not only ``tidal_volume_ml``)."""
    result = _invoke(*args)
    assert result.exit_code == 2
    assert option in _flat(result.stderr), result.stderr


# --- plot, catalog, human output ------------------------------------------------------------


@pytest.mark.parametrize("model", ["weibel", "icrp66"])
def test_plot_writes_png(tmp_path: Path, model: str) -> None:
    """Issue #2: --plot FILE.png draws deposition by generation and by region (matplotlib, Agg)."""
    out = tmp_path / "out.png"
    result = _invoke("deposit", "--model", model, "--plot", str(out), "--json")
    assert result.exit_code == 0, result.output
    _single_json(result.stdout)
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000


def test_nebulizers_lists_catalog() -> None:
    """Issue #2 item 4: `exoneb nebulizers` lists every catalog device by the id that
    --nebulizer accepts (default 80-column output)."""
    result = _invoke("nebulizers")
    assert result.exit_code == 0, result.output
    for device_id in nebulizer_catalog():
        assert device_id in result.stdout, f"{device_id} not shown in full:\n{result.stdout}"


def test_nebulizers_json() -> None:
    """`exoneb nebulizers --json`: one JSON object, one entry per catalog id with its values."""
    result = _invoke("nebulizers", "--json")
    assert result.exit_code == 0, result.output
    payload = _single_json(result.stdout)
    catalog = nebulizer_catalog()
    assert set(payload) == set(catalog)
    for device_id, spec in catalog.items():
        assert payload[device_id]["mmad_um"] == spec.mmad_um
        assert payload[device_id]["kind"] == spec.kind


@pytest.mark.parametrize(
    "args",
    [
        ["deposit"],
        ["deposit", "--dose-particles", "1e10", "--nebulizer", "ultrasonic-generic"],
        ["deposit", "--model", "icrp66"],
        ["cohort", "--n", "30", "--seed", "2"],
    ],
    ids=["deposit", "deposit-particles-ultrasonic", "deposit-icrp66", "cohort"],
)
def test_human_output_has_disclaimer(args: list[str]) -> None:
    """Issue #2 / DISCLAIMER: the readable table states it is a model estimate, not advice."""
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    assert _flat(DISCLAIMER) in _flat(result.stdout)
    assert "lung" in result.stdout
    if "ultrasonic-generic" in args:
        assert "heat" in _flat(result.stdout)
