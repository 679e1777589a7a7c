"""Public pages: the patient information leaflet and its PDF (no login needed).

Nothing here reads or writes patient data, so these routes skip the login
gate on purpose: patients and families read them at home, before consent.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from exoneb.information import service
from exoneb.information.content import DEFAULT_LANGUAGE
from exoneb.web.deps import StateDep
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/information")
def information_default(request: Request, state: StateDep) -> Response:
    """The leaflet in English, with links to the other languages."""
    return information(request, DEFAULT_LANGUAGE, state)


@router.get("/information/{language}")
def information(request: Request, language: str, state: StateDep) -> Response:
    """The leaflet in ``language`` (English, with a notice, when it is not translated)."""
    view = service.page(settings=state.settings, language=language)
    return render(
        request,
        "information/leaflet.html",
        {"view": view, "leaflet": view.leaflet, "front": view.leaflet.front},
    )


@router.get("/information/{language}/leaflet.pdf")
def information_pdf(language: str, state: StateDep) -> Response:
    """The printable leaflet; the file name carries its language and version."""
    leaflet, content = service.pdf(settings=state.settings, language=language)
    name = f"exoneb-patient-information-{leaflet.language}-{leaflet.version}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
