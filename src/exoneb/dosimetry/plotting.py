"""Figures of a deposition estimate: by airway generation and by region.

matplotlib is imported lazily so the rest of the library does not depend on
it. The functions return a :class:`matplotlib.figure.Figure`; saving it is the
caller's business (the library does no I/O). Colours come from the Okabe–Ito
palette, which stays distinguishable with colour-vision deficiency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from exoneb.dosimetry.airways import REGION_GENERATIONS
from exoneb.dosimetry.model import MASS_BALANCE_KEYS, DepositionResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "extrathoracic": "#E69F00",
    "bronchial": "#56B4E9",
    "bronchiolar": "#009E73",
    "alveolar": "#0072B2",
    "exhaled": "#999999",
    "residual": "#CC79A7",
    "device_losses": "#D55E00",
    "interface_losses": "#F0E442",
    "lost_during_exhalation": "#000000",
}


def deposition_figure(result: DepositionResult, title: str | None = None) -> Figure:
    """Two panels: fraction of the inhaled dose per generation, and the loaded dose by region.

    Parameters
    ----------
    result : DepositionResult
        A single-subject estimate (scalar inputs).
    title : str, optional

    Raises
    ------
    ValueError
        If the result holds more than one subject.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if np.ndim(result.duration_min) != 0:
        raise ValueError("deposition_figure draws one subject; pass a scalar-input result")
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_gen, ax_reg = fig.subplots(1, 2, width_ratios=(1.6, 1))
    if result.by_generation is not None:
        gens = np.arange(result.by_generation.shape[-1])
        colours = [
            OKABE_ITO[next(n for n, r in REGION_GENERATIONS.items() if g in r)] for g in gens
        ]
        ax_gen.bar(gens, 100 * result.by_generation, color=colours)
        ax_gen.legend(
            handles=[Patch(color=OKABE_ITO[name], label=name) for name in REGION_GENERATIONS],
            frameon=False,
        )
    else:
        ax_gen.text(
            0.5, 0.5, "not available for this model", ha="center", transform=ax_gen.transAxes
        )
    ax_gen.set_xlabel("airway generation (0 = trachea)")
    ax_gen.set_ylabel("deposited, % of inhaled dose")
    ax_gen.set_title("By generation")

    keys = MASS_BALANCE_KEYS
    labels, values, colours = [], [], []
    for key in keys:
        value = result.fractions_of_loaded.get(key)
        if value is None:
            continue
        labels.append(key.replace("_", " "))
        values.append(100 * float(value))
        colours.append(OKABE_ITO[key])
    ypos = np.arange(len(labels))
    ax_reg.barh(ypos, values, color=colours)
    ax_reg.set_yticks(ypos, labels)
    ax_reg.invert_yaxis()
    ax_reg.set_xlabel("% of loaded dose")
    ax_reg.set_title("Where the loaded dose goes")
    for y, v in zip(ypos, values, strict=True):
        ax_reg.text(v, y, f" {v:.1f}", va="center", fontsize=8)
    fig.suptitle(title or f"Model estimate ({result.model}, {result.inputs['nebulizer']})")
    return fig
