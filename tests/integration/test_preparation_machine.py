"""A Hypothesis state machine over the step 2 *service* on SQLite (issue 5's invariants).

Rules: receive a lot (a certificate that passes or fails), release, quarantine, recall,
thaw (FEFO), discard a vial, prepare a dose for a cleared session, discard a dose, and
move the clock. After every step:

- the inventory balances for every lot: received = in stock + used + discarded;
- no dose was ever drawn from a lot that was not released and in date at that moment;
- a refused action wrote nothing (no audit row, no row anywhere) and a done one wrote
  exactly the audit rows of its kind.

The pure in-memory model (``tests/unit/preparation/test_inventory_machine.py``) runs
many more steps; this one checks that the database service keeps the same rules.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import func, select

from exoneb.accounts.permissions import Role
from exoneb.core import migrate
from exoneb.core.audit import AuditEvent
from exoneb.core.clock import FrozenClock
from exoneb.core.errors import DomainError
from exoneb.preparation import service as prep
from exoneb.preparation.models import DosePreparation, ProductLot, ProductVial
from exoneb.preparation.schemas import (
    DiscardPreparationIn,
    PrepareIn,
    Reasoned,
    ReleaseIn,
    ThawIn,
)

from .conftest import PASSWORD, World, seed_world
from .prep_factories import cleared_session, lot_data, released_lot, saline_lot

_TEMPLATE: list[Path] = []


def _fresh_db() -> str:
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp()) / "template.db"
        migrate.upgrade(f"sqlite:///{path}")
        _TEMPLATE.append(path)
    target = Path(tempfile.mkdtemp()) / "exoneb.db"
    shutil.copy(_TEMPLATE[0], target)
    return f"sqlite:///{target}"


#: Audit rows each successful action writes.
AUDIT = {
    "receive": ("lot.receive",),
    "release": ("record.sign", "lot.release"),
    "quarantine": ("lot.quarantine",),
    "recall": ("lot.recall",),
    "thaw": ("vial.thaw",),
    "discard_vial": ("vial.discard",),
    "prepare": ("record.sign", "preparation.prepare"),
    "discard_dose": ("preparation.discard",),
}


class PreparationMachine(RuleBasedStateMachine):
    """Random sequences of step 2 actions against a real (SQLite) database."""

    def __init__(self) -> None:
        super().__init__()
        self.world: World = seed_world(_fresh_db(), clock=FrozenClock())
        self.sessions = [cleared_session(self.world, f"M-{n}") for n in range(2)]
        self.saline = saline_lot(self.world)
        self.lots: list[int] = []
        self.bad_draws: list[str] = []

    def teardown(self) -> None:
        self.world.factory.kw["bind"].dispose()

    # -- helpers ---------------------------------------------------------------------------
    def _seq(self) -> int:
        with self.world.factory() as db:
            return db.scalar(select(func.max(AuditEvent.seq))) or 0

    def _since(self, seq: int) -> tuple[str, ...]:
        with self.world.factory() as db:
            return tuple(
                db.scalars(
                    select(AuditEvent.action).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
                )
            )

    def _attempt(self, kind: str, role: Role, run: object) -> None:
        seq = self._seq()
        try:
            with self.world.action(role) as ctx:
                run(ctx)  # type: ignore[operator]
        except DomainError:
            assert self._since(seq) == (), f"a refused {kind} left audit rows"
            return
        assert self._since(seq) == AUDIT[kind], kind

    def _version(self, model: type, record_id: int) -> int:
        with self.world.factory() as db:
            return int(db.get(model, record_id).version)  # type: ignore[union-attr]

    # -- rules -----------------------------------------------------------------------------
    @initialize()
    def a_released_lot(self) -> None:
        """Start from one released lot, so that thawing and preparing are reachable early."""
        self.lots.append(
            released_lot(
                self.world, "EV-START", expires_at=self.world.clock.now() + timedelta(days=2)
            )
        )

    @rule(good=st.booleans(), days=st.integers(min_value=0, max_value=3), vials=st.integers(1, 3))
    def receive(self, good: bool, days: int, vials: int) -> None:
        expiry = self.world.clock.now() + timedelta(days=days, hours=6)
        overrides: dict[str, object] = {"expires_at": expiry, "vial_count": vials}
        if not good:
            overrides["endotoxin_eu_per_ml"] = 0.9
        data = lot_data(f"EV-{uuid.uuid4().hex[:6]}", **overrides)
        seq = self._seq()
        with self.world.action(Role.PHARMACIST) as ctx:
            self.lots.append(prep.receive_lot(ctx=ctx, settings=self.world.settings, data=data).id)
        assert self._since(seq) == AUDIT["receive"]

    @precondition(lambda self: self.lots)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        lot_id = data.draw(st.sampled_from(self.lots))
        version = self._version(ProductLot, lot_id)
        self._attempt(
            "release",
            Role.PHARMACIST,
            lambda ctx: prep.release_lot(
                ctx=ctx, settings=self.world.settings, lot_id=lot_id,
                data=ReleaseIn(version=version, password=PASSWORD),
            ),
        )  # fmt: skip

    @precondition(lambda self: self.lots)
    @rule(data=st.data(), recall=st.booleans())
    def hold(self, data: st.DataObject, recall: bool) -> None:
        lot_id = data.draw(st.sampled_from(self.lots))
        body = Reasoned(version=self._version(ProductLot, lot_id), reason="machine")
        if recall:
            self._attempt(
                "recall", Role.COORDINATOR,
                lambda ctx: prep.recall_lot(ctx=ctx, lot_id=lot_id, data=body),
            )  # fmt: skip
        else:
            self._attempt(
                "quarantine", Role.PHARMACIST,
                lambda ctx: prep.quarantine_lot(ctx=ctx, lot_id=lot_id, data=body),
            )  # fmt: skip

    @rule()
    def thaw(self) -> None:
        self._attempt(
            "thaw", Role.PHARMACIST,
            lambda ctx: prep.thaw_vial(ctx=ctx, settings=self.world.settings, data=ThawIn()),
        )  # fmt: skip

    @precondition(lambda self: self.lots)
    @rule(data=st.data())
    def discard_vial(self, data: st.DataObject) -> None:
        with self.world.factory() as db:
            vial_ids = list(db.scalars(select(ProductVial.id).order_by(ProductVial.id)))
        vial_id = data.draw(st.sampled_from(vial_ids))
        body = Reasoned(version=self._version(ProductVial, vial_id), reason="machine")
        self._attempt(
            "discard_vial", Role.PHARMACIST,
            lambda ctx: prep.discard_vial(ctx=ctx, vial_id=vial_id, data=body),
        )  # fmt: skip

    @rule(index=st.integers(0, 1))
    def prepare(self, index: int) -> None:
        session_id = self.sessions[index]
        now = self.world.clock.now()
        seq = self._seq()
        try:
            with self.world.action(Role.PHARMACIST) as ctx:
                p = prep.prepare(
                    ctx=ctx, settings=self.world.settings, session_id=session_id,
                    data=PrepareIn(saline_lot_id=self.saline, appearance_ok=True,
                                   password=PASSWORD),
                )  # fmt: skip
                lot = ctx.db.get(ProductLot, p.lot_id)
                assert lot is not None
                if lot.status != "released" or lot.expires_at <= now:
                    self.bad_draws.append(f"{lot.lot_number} {lot.status} {lot.expires_at}")
        except DomainError as exc:
            assert self._since(seq) == ()
            event(f"prepare refused: {type(exc).__name__}")
            return
        event("prepare done")
        assert self._since(seq) == AUDIT["prepare"]

    @rule(index=st.integers(0, 1))
    def discard_dose(self, index: int) -> None:
        session_id = self.sessions[index]
        with self.world.factory() as db:
            p = prep.active_preparation(db, session_id)
            version = None if p is None else p.version
        if version is None:
            return
        self._attempt(
            "discard_dose", Role.PHARMACIST,
            lambda ctx: prep.discard_preparation(
                ctx=ctx, session_id=session_id,
                data=DiscardPreparationIn(version=version, reason="machine"),
            ),
        )  # fmt: skip

    @rule(minutes=st.sampled_from([5, 60, 125, 24 * 60]))
    def advance(self, minutes: int) -> None:
        self.world.clock.advance(timedelta(minutes=minutes))

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def inventory_balances(self) -> None:
        with self.world.factory() as db:
            for lot_id in self.lots:
                vials = list(db.scalars(select(ProductVial).where(ProductVial.lot_id == lot_id)))
                balance = prep.balance_of(vials)
                assert balance.balanced, (lot_id, balance)

    @invariant()
    def no_dose_from_an_unusable_lot(self) -> None:
        assert self.bad_draws == []

    @invariant()
    def at_most_one_active_dose_per_session(self) -> None:
        with self.world.factory() as db:
            for session_id in self.sessions:
                active = db.scalar(
                    select(func.count(DosePreparation.id)).where(
                        DosePreparation.session_id == session_id,
                        DosePreparation.status.in_(("prepared", "verified")),
                    )
                )
                assert (active or 0) <= 1


TestPreparationMachine = PreparationMachine.TestCase
TestPreparationMachine.settings = settings(
    max_examples=6,
    stateful_step_count=16,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
