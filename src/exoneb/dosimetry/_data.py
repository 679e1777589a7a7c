"""Loading the package's own data files, each checked against its published sha256.

The dose engine's results depend on these tables; a file edited by accident must
fail loudly rather than shift every estimate a little.
"""

from __future__ import annotations

import hashlib
from importlib import resources

#: sha256 of each pinned data file (see ``data/SOURCES.md``).
PINNED_SHA256: dict[str, str] = {
    "weibel_a.csv": "f29d761c889c5ddce68dd5e47e8adb8ca4d5a90aba1483959a7b406b72bbc7c1",
    "hrtm_subjects_breathing.json": (
        "1acdf9d2605bb25d156b70180ed4b8fc98c325ab5e298d88dd25d7642da8cb9e"
    ),
}


class DataIntegrityError(RuntimeError):
    """A pinned data file does not match its recorded sha256."""


def read_data_bytes(name: str) -> bytes:
    """Return the bytes of ``data/<name>``, verifying the sha256 when the file is pinned."""
    raw = resources.files("exoneb.dosimetry").joinpath("data", name).read_bytes()
    expected = PINNED_SHA256.get(name)
    if expected is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected:
            raise DataIntegrityError(
                f"data file {name} has sha256 {actual}, expected {expected}: "
                "the reference table was modified; restore it from data/SOURCES.md"
            )
    return raw


def read_data_text(name: str) -> str:
    """Return ``data/<name>`` decoded as UTF-8 (see :func:`read_data_bytes`)."""
    return read_data_bytes(name).decode("utf-8")
