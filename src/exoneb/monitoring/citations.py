"""Thresholds as data: a dataclass field that carries the source it came from.

``reference/clinical.md`` §7 asks that every threshold live in versioned,
protocol-scoped configuration *with units and a source citation*. The
parameter dataclasses of this package declare each field with :func:`cited`,
so the citation travels with the default and :func:`sources_of` can list it
next to every decision the parameter drove (pages, audit rows, reports).
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["NOT_IN_REFERENCE", "cited", "sources_of"]

NOT_IN_REFERENCE = "[not in reference] exoneb design choice; confirm in the protocol"
"""Citation used for every default that the clinical reference does not give."""


def cited(default: Any, source: str) -> Any:
    """Declare a dataclass field with a default and the source of that default.

    Parameters
    ----------
    default : Any
        The default value (immutable: numbers, strings, tuples, frozensets).
    source : str
        Where the value comes from, e.g. ``"clinical.md §4.3 [design default]"``.

    Returns
    -------
    Any
        A :func:`dataclasses.field` carrying ``source`` in its metadata; typed
        ``Any`` so that the annotated field type is what type checkers see.
    """
    return dataclasses.field(default=default, metadata={"source": source})


def sources_of(params: object) -> dict[str, str]:
    """Map each field of a parameters dataclass to the source of its default.

    Parameters
    ----------
    params : object
        An instance (or class) of a dataclass declared with :func:`cited`.

    Returns
    -------
    dict of str to str
        Field name to citation; fields declared without a source say so, so a
        missing citation is visible rather than silently absent.
    """
    if not dataclasses.is_dataclass(params):
        raise TypeError(f"{params!r} is not a dataclass")
    return {
        f.name: str(f.metadata.get("source", "[no source recorded]"))
        for f in dataclasses.fields(params)
    }
