"""The vendored GLI tables: packaged, checksummed, and read by column name."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from exoneb.assessment.errors import ReferenceTableIntegrityError
from exoneb.assessment.gli_tables import PINNED_SHA256, load_reference_table, read_verified
from exoneb.assessment.spirometry_terms import Equation, Parameter, Sex

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "reference" / "data"


def _package_data() -> Path:
    return Path(str(resources.files("exoneb.assessment.data")))


def test_package_ships_the_four_tables() -> None:
    names = {p.name for p in resources.files("exoneb.assessment.data").iterdir()}
    assert set(PINNED_SHA256) <= names
    assert "SOURCES.md" in names


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared reference folder not beside repo")
@pytest.mark.parametrize("name", sorted(PINNED_SHA256))
def test_vendored_copy_is_byte_identical_to_the_reference(name: str) -> None:
    assert (_package_data() / name).read_bytes() == (SHARED_DATA / name).read_bytes()


def test_sources_md_lists_every_checksum() -> None:
    sources = (_package_data() / "SOURCES.md").read_text(encoding="utf-8")
    for name, digest in PINNED_SHA256.items():
        assert name in sources
        assert digest in sources


@pytest.mark.parametrize("name", sorted(PINNED_SHA256))
def test_modified_copy_is_refused(tmp_path: Path, name: str) -> None:
    for other in PINNED_SHA256:
        shutil.copyfile(_package_data() / other, tmp_path / other)
    # an unmodified copy loads ...
    assert read_verified(name, tmp_path) == (_package_data() / name).read_bytes()
    # ... and changing one digit of it does not
    data = bytearray((tmp_path / name).read_bytes())
    index = next(i for i in range(len(data) - 1, 0, -1) if chr(data[i]).isdigit())
    data[index] = ord("1") if data[index] != ord("1") else ord("2")
    (tmp_path / name).write_bytes(bytes(data))
    with pytest.raises(ReferenceTableIntegrityError, match=name):
        read_verified(name, tmp_path)
    equation = Equation.GLI_GLOBAL if name.startswith("bowerman") else Equation.GLI_2012
    with pytest.raises(ReferenceTableIntegrityError, match="sha256"):
        load_reference_table(equation, tmp_path)


def test_table_version_names_files_and_checksums() -> None:
    version = load_reference_table(Equation.GLI_GLOBAL).version
    assert version.equation is Equation.GLI_GLOBAL
    assert [f.name for f in version.files] == [
        "bowerman_2022_coefficients.csv",
        "bowerman_2022_splines.csv",
    ]
    assert "GLI Global 2022 (Bowerman 2023)" in str(version)
    assert "sha256:ab38d8933f09" in str(version)


def test_gli_global_coefficients_match_the_published_table() -> None:
    table = load_reference_table(Equation.GLI_GLOBAL)
    male_fev1 = table.coefficients[(Sex.MALE, Parameter.FEV1)]
    assert male_fev1.a[:3] == (-11.399108, 2.462664, -0.011394)
    assert male_fev1.p[:2] == (-2.256278, 0.080729)
    assert male_fev1.q == (1.22703, 0.0)  # empty q1 cell is an absent term
    assert male_fev1.a[3:] == (0.0, 0.0, 0.0, 0.0)
    # the legacy pyspiro file has +0.992 here; the vendored one must have -0.992
    assert table.coefficients[(Sex.FEMALE, Parameter.FEV1_FVC)].q == (6.649, -0.992)


def test_gli_global_splines_span_3_to_95_with_zero_l() -> None:
    table = load_reference_table(Equation.GLI_GLOBAL)
    for splines in table.splines.values():
        assert splines.age_range == (3.0, 95.0)
        assert splines.ages.size == 369
        assert np.all(splines.lspline == 0.0)


def test_gli_2012_columns_read_by_name_not_position() -> None:
    table = load_reference_table(Equation.GLI_2012)
    # FEF25-75 columns are stored M, S, L; the others L, M, S
    fef = table.splines[(Sex.MALE, Parameter.FEF25_75)]
    assert fef.mspline[0] == pytest.approx(-0.352046392, abs=0)
    assert fef.sspline[0] == pytest.approx(0.5568091, abs=0)
    assert fef.lspline[0] == 0.0
    assert fef.age_range == (3.0, 90.0)  # FEF25-75 is tabulated to 90 y only
    ratio = table.splines[(Sex.MALE, Parameter.FEV1_FVC)]
    assert ratio.lspline[0] == pytest.approx(1.3876224936, abs=0)
    assert ratio.lspline[np.flatnonzero(ratio.ages == 45.0)[0]] == pytest.approx(0.1773, abs=1e-4)
    other = table.coefficients[(Sex.FEMALE, Parameter.FEV1)]
    assert other.a[6] == -0.0708  # a6 "Other/mixed"
    assert other.p[5] == 0.0114  # p5 "Other/mixed"
