"""Every page a nurse or physician works on has unique element ids.

A repeated id (one form per row, or two forms with the same field name) makes
``<label for>`` and ``aria-describedby`` point at the wrong input, so a screen
reader reads the wrong label or error. The macros take an ``id_prefix`` for that.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

from exoneb.accounts.permissions import Role
from exoneb.patients import service as patients
from exoneb.patients.schemas import CareCreate

from .conftest import World
from .test_assessment_service import filled
from .webclient import app_for, login


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids[value] += 1


def _repeated(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(i for i, n in parser.ids.items() if n > 1)


def test_patient_session_and_assessment_pages_have_unique_ids(world: World) -> None:
    session_id, _ = filled(world)
    with world.action(Role.NURSE) as ctx:
        patient_id = patients.search_patients(ctx=ctx, query="MRN-1")[0].id
        patients.add_care(ctx=ctx, patient_id=patient_id, data=CareCreate(
            medicine="Budesonide", dose="200 µg", route="inhaled", frequency="twice daily",
            prescriber="Dr. Own"))  # fmt: skip
    app = app_for(world)
    for role in (Role.NURSE, Role.PHYSICIAN, Role.COORDINATOR, Role.PHARMACIST):
        staff = login(app, world, role)
        for url in (f"/patients/{patient_id}", f"/sessions/{session_id}",
                    f"/sessions/{session_id}/assessment", "/patients"):  # fmt: skip
            response = staff.client.get(url)
            assert response.status_code == 200, (url, role)
            assert _repeated(response.text) == [], (url, role)
