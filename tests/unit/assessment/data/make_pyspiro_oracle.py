"""Regenerate ``pyspiro_oracle.json``: pyspiro 1.0.0 as a test-only oracle (not a dependency).

Run in a throwaway environment that has ``pyspiro==1.0.0`` (it pulls in pandas)::

    python -m venv /tmp/oracle && /tmp/oracle/bin/pip install pyspiro==1.0.0
    /tmp/oracle/bin/python tests/unit/assessment/data/make_pyspiro_oracle.py

Random people (ages 5–90, heights 110–200 cm, both sexes, every GLI-2012 ethnic
group) and random measured values; ages are deliberately not on the quarter-year
grid, so the fixture also checks the spline interpolation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pyspiro import BOWERMAN_2022, GLI_2012

ETHNICITY_CODES = {"caucasian": 1, "african-american": 2, "ne-asian": 3, "se-asian": 4, "other": 5}
PARAMETERS = (  # (our name, pyspiro BOWERMAN_2022 code, GLI_2012 code, measured range)
    ("fev1", 1, 1, (0.5, 5.0)),
    ("fvc", 2, 2, (0.7, 6.0)),
    ("fev1_fvc", 3, 3, (0.4, 0.95)),
    ("fef25_75", None, 4, (0.3, 6.0)),
)


def main(n_people: int = 40, seed: int = 20261129) -> None:
    """Write the oracle rows next to this script."""
    rng = np.random.default_rng(seed)
    gl, g12 = BOWERMAN_2022(), GLI_2012()
    rows = []
    for _ in range(n_people):
        sex = int(rng.integers(0, 2))
        age = round(float(rng.uniform(5, 90)), 4)
        height = round(float(rng.uniform(110, 200)), 1)
        ethnicity = list(ETHNICITY_CODES)[int(rng.integers(0, 5))]
        for name, code_gl, code_12, (low, high) in PARAMETERS:
            value = round(float(rng.uniform(low, high)), 3)
            cases = [("gli-global", None, gl, (sex, age, height, code_gl, value))]
            args_12 = (sex, age, height, ETHNICITY_CODES[ethnicity], code_12, value)
            cases.append(("gli-2012", ethnicity, g12, args_12))
            for equation, eth, eq, args in cases:
                if args[-2] is None:
                    continue
                rows.append(
                    {
                        "equation": equation,
                        "ethnicity": eth,
                        "sex": "M" if sex else "F",
                        "age": age,
                        "height_cm": height,
                        "parameter": name,
                        "measured": value,
                        "predicted": float(eq.lms(*args)[1]),
                        "lln": float(eq.lln(*args)),
                        "uln": float(eq.uln(*args)),
                        "z": float(eq.zscore(*args)),
                    }
                )
    meta = {"generator": "pyspiro 1.0.0 (PyPI)", "seed": seed, "rows": rows}
    out = Path(__file__).with_name("pyspiro_oracle.json")
    out.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
