"""JSON API listing the protocol files this site runs (``/api/v1/protocols``)."""

from __future__ import annotations

from fastapi import APIRouter

from exoneb.protocols import registry
from exoneb.protocols.schema import ProtocolFile
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["protocols"])


@router.get("/protocols", response_model=list[ProtocolFile])
def list_protocols(auth: AuthDep) -> list[ProtocolFile]:
    """Every protocol file, validated (any logged-in user may read them)."""
    return list(registry.load_all(auth.state.settings.protocols_dir).values())
