"""A bedside monitor's readings are stored set-based, as the ORM stored them (both databases).

``hl7_service.receive_hl7`` stores a matched message's readings with one
``exoneb.core.bulk.insert_rows`` (as ``service.ingest_batch`` does) and hands
the pure readings to ``service.evaluate_alerts(fresh=…)`` instead of reading
them back. These tests compare, column by column as the database returns
them, what it stored with what the ORM path it replaced stores for the same
message (one ``ObservationRecord`` per reading), and check that the alerts
found with the fresh readings are those a full re-evaluation of the stored
series finds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session as DbSession

from exoneb.accounts.permissions import Role
from exoneb.core.clock import as_utc
from exoneb.monitoring import hl7_service, rules
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.models import AlertRecord, Hl7Message, ObservationRecord
from exoneb.sessions.models import TherapySession

from .conftest import World
from .monitoring_world import hl7_message, monitored_session

COLUMNS = monitoring._BATCH_COLUMNS


def _two_times(mrn: str, at: datetime, control_id: str) -> bytes:
    """A PCD-01 message with readings at two times, in a +01:00 time zone, ECG and pulse rate.

    The ECG heart rate wins over the oximeter's pulse rate at the same time
    (pcd01.to_observations); times are converted to UTC when stored.
    """
    local = at.astimezone(UTC) + timedelta(hours=1)
    first = local.strftime("%Y%m%d%H%M%S+0100")
    second = (local + timedelta(seconds=5)).strftime("%Y%m%d%H%M%S+0100")
    segments = hl7_message(mrn, at, control_id=control_id).decode().split("\r")[:5]
    segments += [
        f"OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|93.5|262688^MDC_DIM_PERCENT^MDC"
        f"|||||R|||{first}||||0800190000000001^EUI-64",
        f"OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|88|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        f"|||||R|||{first}||||0800190000000001^EUI-64",
        f"OBX|4|NM|147842^MDC_ECG_HEART_RATE^MDC|1.2.1.1|91|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        f"|||||R|||{first}||||0800190000000001^EUI-64",
        f"OBX|5|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|92|262688^MDC_DIM_PERCENT^MDC"
        f"|||||R|||{second}||||0800190000000001^EUI-64",
    ]
    return "\r".join(segments).encode()


def _stored(db: DbSession, ids: list[int]) -> list[tuple[Any, ...]]:
    """The rows as the database gives them back (timestamps as text on PostgreSQL)."""
    postgres = db.get_bind().dialect.name == "postgresql"
    cols = ", ".join(f"{c}::text" if postgres and c.endswith("_at") else c for c in COLUMNS)
    wanted = ", ".join(str(int(i)) for i in ids)
    sql = f"SELECT {cols} FROM monitoring_observation WHERE id IN ({wanted}) ORDER BY id"
    return [tuple(r) for r in db.execute(text(sql))]


def _orm_path(message: Hl7Message, session: TherapySession, recorded_by_id: int) -> list[Any]:
    """The readings of ``message`` as the ORM path stored them before (one object per reading)."""
    parsed = rules.parse_oru_r01(message.raw)
    assert isinstance(parsed, rules.OruR01)
    ids = {r.equipment_id for r in parsed.readings if r.equipment_id}
    return [
        ObservationRecord(
            session_id=session.id,
            patient_id=session.patient_id,
            observed_at=as_utc(o.at),
            source="hl7",
            device_id=sorted(ids)[0][:100] if ids else None,
            hl7_message_id=message.id,
            **{m: getattr(o, m) for m in monitoring._MEASURES},
            **{f: getattr(o, f) for f in monitoring._FLAGS},
            saba_given=False,
            recorded_at=message.received_at,
            recorded_by_id=recorded_by_id,
            recorded_by=message.received_by,
        )
        for o in rules.to_observations(parsed)
    ]


def test_readings_are_stored_as_the_orm_stored_them(world: World) -> None:
    session_id, _ = monitored_session(world)
    raw = _two_times("MRN-1", world.clock.now() - timedelta(seconds=30), "T1")
    with world.action(Role.NURSE) as ctx:
        result = hl7_service.receive_hl7(ctx=ctx, settings=world.settings, raw=raw, peer="bed 1")
    assert (result.ack_code, result.match_status, result.observations_stored) == (
        "AA", "matched", 2,
    )  # fmt: skip
    nurse_id = world.users[Role.NURSE].id
    with world.ctx_db() as db, db.begin():
        bulk_ids = list(
            db.scalars(
                select(ObservationRecord.id)
                .where(ObservationRecord.hl7_message_id == result.message_id)
                .order_by(ObservationRecord.id)
            )
        )
        message = db.get(Hl7Message, result.message_id)
        session = db.get(TherapySession, session_id)
        assert message is not None
        assert session is not None
        orm = _orm_path(message, session, nurse_id)
        db.add_all(orm)
        db.flush()
        orm_rows = _stored(db, [o.id for o in orm])
        bulk_rows = _stored(db, bulk_ids)
        db.rollback()  # the ORM's copies were only for the comparison
    assert len(bulk_rows) == 2
    assert bulk_rows == orm_rows
    values = [dict(zip(COLUMNS, r, strict=True)) for r in bulk_rows]
    assert [(v["spo2_pct"], v["heart_rate_per_min"]) for v in values] == [(93.5, 91.0), (92, None)]
    assert {(v["source"], v["device_id"], v["recorded_by"]) for v in values} == {
        ("hl7", "0800190000000001", "Nurse One")
    }


def test_alerts_from_the_fresh_readings_are_those_of_the_stored_series(world: World) -> None:
    """Device SpO2 84 % sustained 30 s (clinical.md §4.3): raised with the message, not again."""
    session_id, _ = monitored_session(world)
    now = world.clock.now()
    for k, spo2 in enumerate((97, 84, 84, 84)):
        raw = hl7_message("MRN-1", now + timedelta(seconds=15 * k), spo2_pct=spo2,
                          control_id=f"A{k}")  # fmt: skip
        world.clock.advance(timedelta(seconds=15))
        with world.action(Role.NURSE) as ctx:
            hl7_service.receive_hl7(ctx=ctx, settings=world.settings, raw=raw, peer="bed 1")

    def alerts() -> list[tuple[Any, ...]]:
        with world.ctx_db() as db:
            rows = db.scalars(
                select(AlertRecord).where(AlertRecord.session_id == session_id)
                .order_by(AlertRecord.rule_id)
            ).all()  # fmt: skip
            return [(a.rule_id, a.worst_value, as_utc(a.last_at), a.ongoing) for a in rows]

    raised = alerts()
    assert {a[0] for a in raised} == {"spo2_fall", "spo2_low", "spo2_critical"}
    with world.action(Role.NURSE) as ctx:
        session = ctx.db.get(TherapySession, session_id)
        assert session is not None
        again = monitoring.evaluate_alerts(ctx=ctx, settings=world.settings, session=session)
    assert again == []  # the whole stored series finds nothing new …
    assert alerts() == raised  # … and nothing to update
