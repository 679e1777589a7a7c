"""Figures for reports: one :class:`~exoneb.reports.document.PlotSpec` → SVG and PNG.

matplotlib with the Agg canvas only (no display, no browser). Each spec is
drawn once into one :class:`matplotlib.figure.Figure`; that same figure is
written as SVG for the page and as PNG for the PDF, so the page and the
printed report show the same drawing of the same data.

Accessibility, because a clinician may be colour-blind and a reader may use
a screen reader or a greyscale printer:

* colours from the Okabe–Ito palette (distinguishable with the common
  colour-vision deficiencies), *and* a different marker and line style per
  series, so no series is told apart by colour alone;
* axis labels carry the unit ("FEV1 (L)", "SpO2 (%)");
* every figure has a title, a text alternative (``PlotSpec.alt``, used as
  the ``alt`` of the page image and printed under the PDF figure) and its
  values in a table beside it.

SVG output is made deterministic (fixed hash salt, no date metadata, text kept
as text so the browser and screen readers can read it), so the same spec
gives byte-identical SVG.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import threading
from dataclasses import dataclass
from functools import lru_cache

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from exoneb.reports.document import PlotSpec, Series

#: Okabe & Ito (2008), "Color Universal Design", in the order used for series.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: low contrast on white)
)
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":", "-", "--", "-.", ":")
REFERENCE_COLOUR = "#555555"
PNG_DPI = 200
FIGSIZE_IN = (6.4, 3.4)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One figure in both formats, with the digest of the SVG text."""

    svg: str
    png: bytes
    svg_sha256: str

    def svg_data_uri(self) -> str:
        """The SVG as a ``data:`` URI for ``<img>`` (the CSP allows ``img-src data:``)."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def axis_label(name: str, unit: str) -> str:
    """ "Name (unit)", or the bare name for dimensionless quantities."""
    return f"{name} ({unit})" if unit else name


def _categorical(series: tuple[Series, ...]) -> list[str] | None:
    values = [x for s in series for x in s.x]
    if values and all(isinstance(x, str) for x in values):
        order: list[str] = []
        for x in values:
            if x not in order:
                order.append(str(x))
        return order
    return None


def _positions(s: Series, categories: list[str] | None) -> list[float]:
    if categories is None:
        return [float(x) for x in s.x]
    return [float(categories.index(str(x))) for x in s.x]


def _draw(spec: PlotSpec) -> Figure:
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    categories = _categorical(spec.series)
    n = max(len(spec.series), 1)
    width = 0.8 / n
    for i, s in enumerate(spec.series):
        colour, marker = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
        xs = _positions(s, categories)
        ys = [math.nan if y is None else float(y) for y in s.y]
        if spec.kind == "bar":
            offsets = [x - 0.4 + width * (i + 0.5) for x in xs]
            ax.bar(offsets, ys, width=width, color=colour, label=s.label, edgecolor="black",
                   hatch=("", "//", "..", "xx", "\\\\", "++", "oo", "--")[i % 8])  # fmt: skip
        else:
            ax.plot(xs, ys, color=colour, marker=marker, linestyle=LINESTYLES[i % 8],
                    linewidth=1.8, markersize=6, label=s.label)  # fmt: skip
    for ref in spec.reference_lines:
        ax.axhline(ref.y, color=REFERENCE_COLOUR, linestyle=":", linewidth=1.2, label=ref.label)
    if categories is not None:
        ax.set_xticks(range(len(categories)), categories, rotation=30 if len(categories) > 4 else 0)
    ax.set_title(spec.title)
    ax.set_xlabel(axis_label(spec.x_label, spec.x_unit))
    ax.set_ylabel(axis_label(spec.y_label, spec.y_unit))
    ax.grid(True, color="#DDDDDD", linewidth=0.6)
    if not any(s.x for s in spec.series):
        ax.text(0.5, 0.5, "No values recorded", ha="center", va="center", transform=ax.transAxes)
    elif len(spec.series) + len(spec.reference_lines) > 1:
        ax.legend(loc="best", fontsize="small", frameon=True)
    return fig


_LOCK = threading.Lock()


@lru_cache(maxsize=128)
def render(spec: PlotSpec) -> Rendered:
    """Draw ``spec`` once and write that figure as SVG and PNG (cached by spec).

    matplotlib's settings are process-global, so drawing is serialised with a
    lock (app workers run requests on threads).
    """
    with _LOCK, rc_context({"svg.hashsalt": "exoneb", "svg.fonttype": "none"}):
        fig = _draw(spec)
        svg_buffer = io.StringIO()
        fig.savefig(svg_buffer, format="svg", metadata={"Date": None})
        png_buffer = io.BytesIO()
        fig.savefig(png_buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    svg = svg_buffer.getvalue()
    return Rendered(svg=svg, png=png_buffer.getvalue(),
                    svg_sha256=hashlib.sha256(svg.encode()).hexdigest())  # fmt: skip
