"""JSON API: which patient-information leaflets exist (``/api/v1/information/leaflets``).

Public like the page itself (the leaflets are public text); API clients use it
to send the right ``leaflet_language`` and ``leaflet_version`` with a consent.
"""

from __future__ import annotations

from fastapi import APIRouter

from exoneb.information import service
from exoneb.information.schemas import LeafletRead
from exoneb.web.deps import StateDep

router = APIRouter(tags=["information"])


@router.get("/information/leaflets", response_model=list[LeafletRead])
def list_leaflets(state: StateDep) -> list[LeafletRead]:
    """Every leaflet in its own language (English first), with version and hash."""
    return [
        LeafletRead(
            language=leaflet.language,
            language_name=leaflet.front.language_name,
            title=leaflet.front.title,
            version=leaflet.version,
            date=leaflet.front.date,
            sha256=leaflet.sha256,
            page_url=f"/information/{leaflet.language}",
            pdf_url=f"/information/{leaflet.language}/leaflet.pdf",
        )
        for leaflet in service.leaflets(settings=state.settings)
    ]
