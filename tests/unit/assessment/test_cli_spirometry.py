"""``exoneb spirometry``: JSON keys and values, readable output, exit code 2 on bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from exoneb.cli import _register, app

_register()
runner = CliRunner()

PARAMETER_KEYS = {"measured", "predicted", "lln", "uln", "z", "percent_predicted"}


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["spirometry", *args, "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)  # exactly one JSON object
    return payload


def test_json_case_3_gli_global() -> None:
    out = _json("--sex", "M", "--age", "45", "--height-cm", "175", "--fev1", "2.8", "--fvc", "4.4")
    assert {"fev1", "fvc", "fev1_fvc", "interpretation", "equation"} <= set(out)
    for key in ("fev1", "fvc", "fev1_fvc"):
        assert set(out[key]) == PARAMETER_KEYS
    # spirometry.md §1.5 case 3 (GLI Global)
    assert out["fev1"]["predicted"] == pytest.approx(3.7132, abs=5e-5)
    assert out["fev1"]["lln"] == pytest.approx(2.8227, abs=5e-5)
    assert out["fev1"]["z"] == pytest.approx(-1.686, abs=0.005)
    assert out["fvc"]["z"] == pytest.approx(-0.285, abs=0.005)
    assert out["fev1_fvc"]["measured"] == pytest.approx(2.8 / 4.4)
    assert out["fev1_fvc"]["z"] == pytest.approx(-2.435, abs=0.005)
    assert out["fev1_fvc"]["percent_predicted"] == pytest.approx(79.0, abs=0.05)
    reading = out["interpretation"]
    assert reading["obstruction"] is True
    assert reading["severity"] == "mild"
    assert reading["pattern"] == "obstruction"
    assert reading["equation"] == "gli-global"
    assert out["equation"] == "gli-global"
    assert reading["below_fixed_ratio_0_70"] is True
    assert [f["code"] for f in reading["findings"]][:3] == ["obstruction", "severity", "pattern"]
    assert out["reference"]["tables"][1]["sha256"].startswith("ab38d893")
    assert out["reference"]["age_years"] == 45.0
    assert "not a diagnosis" in out["disclaimer"]


def test_json_gli_2012_with_ethnicity() -> None:
    out = _json(
        "--sex", "M", "--age", "45", "--height-cm", "175", "--fev1", "2.8",
        "--equation", "gli-2012", "--ethnicity", "caucasian",
    )  # fmt: skip
    assert set(out) >= {"fev1", "interpretation"}
    assert "fvc" not in out
    assert "fev1_fvc" not in out  # the ratio needs both volumes
    assert out["fev1"]["predicted"] == pytest.approx(3.9372, abs=5e-5)
    assert out["fev1"]["z"] == pytest.approx(-2.224, abs=0.005)
    assert out["fev1"]["percent_predicted"] == pytest.approx(71.12, abs=0.005)
    assert out["interpretation"]["obstruction"] is None  # not evaluable, not False
    assert out["interpretation"]["pattern"] == "indeterminate"
    assert out["interpretation"]["equation"] == "gli-2012"
    assert out["reference"]["ethnicity"] == "caucasian"


def test_json_without_measurements_gives_reference_values() -> None:
    out = _json("--sex", "f", "--age", "25", "--height-cm", "165")
    assert out["fev1"]["measured"] is None
    assert out["fev1"]["z"] is None
    assert out["fev1"]["predicted"] == pytest.approx(3.1976, abs=5e-5)
    assert out["fev1_fvc"]["lln"] == pytest.approx(0.7630, abs=5e-5)


def test_fef25_75_with_gli_2012() -> None:
    out = _json(
        "--sex", "F", "--age", "30", "--height-cm", "160", "--fef25-75", "3.0",
        "--equation", "gli-2012", "--ethnicity", "se-asian",
    )  # fmt: skip
    assert set(out["fef25_75"]) == PARAMETER_KEYS
    assert out["fef25_75"]["lln"] < out["fef25_75"]["predicted"] < out["fef25_75"]["uln"]


def test_readable_output_has_table_and_disclaimer_line() -> None:
    result = runner.invoke(
        app,
        ["spirometry", "--sex", "F", "--age", "40", "--height-cm", "165", "--fev1", "2.6"],
    )
    assert result.exit_code == 0, result.output
    assert "FEV1" in result.stdout
    assert "2.97" in result.stdout  # predicted FEV1 2.9652
    lines = [line for line in result.stdout.splitlines() if "not a diagnosis" in line]
    assert len(lines) == 1
    assert "Decision support" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sex", "M", "--age", "2", "--height-cm", "100"], "--age"),
        (["--sex", "M", "--age", "96", "--height-cm", "170"], "3–95"),
        (["--sex", "M", "--age", "40", "--height-cm", "1.75"], "--height-cm"),
        (["--sex", "X", "--age", "40", "--height-cm", "175"], "--sex"),
        (["--age", "40", "--height-cm", "175"], "--sex"),
        (["--sex", "M", "--age", "40", "--height-cm", "175", "--fev1", "3200"], "millilitres"),
        (["--sex", "M", "--age", "40", "--height-cm", "175", "--fev1", "5", "--fvc", "4"], "fvc"),
        (["--sex", "M", "--age", "40", "--height-cm", "175", "--equation", "gli-2012"], "ethnic"),
        (
            ["--sex", "M", "--age", "40", "--height-cm", "175", "--ethnicity", "caucasian"],
            "race-neutral",
        ),
        (["--sex", "M", "--age", "40", "--height-cm", "175", "--fef25-75", "3"], "gli-2012"),
        (["--sex", "M", "--age", "40", "--height-cm", "175", "--equation", "nhanes"], "equation"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["spirometry", *args, "--json"])
    assert result.exit_code == 2
    assert message in result.output
    assert result.stdout.strip() == "" or not result.stdout.lstrip().startswith("{")
