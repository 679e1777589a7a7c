"""Loads and validates protocol files from a directory (``EXONEB_PROTOCOLS_DIR``).

Files are read once per directory and cached; a broken file stops start-up
with the file name and the Pydantic error, rather than surfacing mid-session.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from exoneb.protocols.schema import ProtocolFile


class ProtocolFileError(ValueError):
    """A protocol file could not be read or did not validate."""


@lru_cache(maxsize=8)
def load_all(directory: Path) -> dict[str, ProtocolFile]:
    """Every ``*.yaml`` protocol in ``directory``, keyed by protocol id."""
    protocols: dict[str, ProtocolFile] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            protocol = ProtocolFile.model_validate(yaml.safe_load(path.read_text("utf-8")))
        except (ValidationError, yaml.YAMLError) as exc:
            raise ProtocolFileError(f"{path.name}: {exc}") from exc
        if path.stem != protocol.id:
            raise ProtocolFileError(f"{path.name}: file name must be {protocol.id}.yaml")
        protocols[protocol.id] = protocol
    return protocols


def get(directory: Path, protocol_id: str) -> ProtocolFile | None:
    """The protocol with this id, if a file defines it."""
    return load_all(directory).get(protocol_id)
