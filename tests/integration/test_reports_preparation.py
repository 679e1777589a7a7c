"""Step 2 in the reports: the preparation section with its arithmetic and both signatures, the
lots and preparations CSV tables, lots used in the safety overview, and — through the real
step 2 and 3 services — the Medication's batch with lot number and expiry."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from exoneb.accounts.permissions import Role
from exoneb.reports import fhir, service, tables

from .conftest import World
from .inhalation_helpers import act, mesh_device, set_up
from .prep_factories import verified_session


def test_session_report_shows_lot_arithmetic_and_both_signatures(world: World) -> None:
    session_id = verified_session(world)
    with world.action(Role.PHYSICIAN) as ctx:
        issued = service.session_report(ctx=ctx, settings=world.settings, session_id=session_id)
    s = issued.report.section("preparation")
    assert s.recorded
    assert s.status == "verified"
    items = {i.label: i.value for i in s.items}
    assert items["Lot"].startswith("EV-MRN-1")
    assert items["Prescribed dose"] == 2.0e8  # DL1 of the demo protocol
    assert items["Fill volume"] == 3.0
    assert any(n.startswith("Arithmetic: ") for n in s.notes)
    assert {(g.meaning, g.valid) for g in s.signatures} == {("performed", True),
                                                           ("verified", True)}  # fmt: skip
    assert {g.signer for g in s.signatures} == {"Pharmacist One", "Nurse One"}
    everyone = issued.report.section("signatures").signatures
    assert len(everyone) == 3  # assessment, preparation, verification


def test_lots_and_preparations_csv_and_lots_used(world: World) -> None:
    verified_session(world)
    for table in ("lots", "preparations"):
        with world.action(Role.COORDINATOR) as ctx:
            text = service.export_csv(ctx=ctx, settings=world.settings, table=table,
                                      protocol_id="demo-exo-01")  # fmt: skip
        reader = csv.DictReader(io.StringIO(text))
        assert reader.fieldnames == [c.name for c in tables.DICTIONARY[table]]
        (row,) = list(reader)
        assert row["lot_number"] == "EV-MRN-1"
    with world.action(Role.COORDINATOR) as ctx:
        issued = service.protocol_safety(ctx=ctx, settings=world.settings,
                                         protocol_id="demo-exo-01")  # fmt: skip
    lots = issued.report.section("lots")
    assert lots.recorded
    assert lots.tables[0].rows[0][0] == "EV-MRN-1"
    assert lots.tables[0].rows[0][-1] == 1


def _of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_medication_carries_lot_number_and_expiry_through_the_real_steps(world: World) -> None:
    session_id = verified_session(world)
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(minutes=6))
    act(world, "stop", session_id, reason="output_stopped")
    with world.action(Role.AUDITOR) as ctx:
        bundle = service.export_fhir(ctx=ctx, settings=world.settings, protocol_id="demo-exo-01")
    assert fhir.validate(bundle) == []
    (med,) = _of(bundle, "Medication")
    assert med["batch"]["lotNumber"] == "EV-MRN-1"
    assert med["batch"]["expirationDate"].endswith("Z")
    (mar,) = _of(bundle, "MedicationAdministration")
    assert mar["medicationReference"]["reference"] in {e["fullUrl"] for e in bundle["entry"]}
