"""``exoneb monitor-gateway``: the MLLP listener for bedside monitors (HL7 v2 ORU^R01, PCD-01)."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from exoneb.cli import app
from exoneb.core.clock import Clock
from exoneb.core.config import Settings
from exoneb.core.context import Actor
from exoneb.monitoring.gateway import Handler, Keeper


def make_handlers(
    factory: sessionmaker[DbSession], settings: Settings, actor: Actor, clock: Clock
) -> tuple[Handler, Keeper]:
    """The gateway's handler and keeper: one transaction per message, as ``actor``."""
    from exoneb.core import transaction
    from exoneb.monitoring import hl7_service

    def handle(raw: bytes, peer: str) -> bytes:
        with transaction.action(factory, actor=actor, clock=clock, ip=peer) as ctx:
            return hl7_service.receive_hl7(ctx=ctx, settings=settings, raw=raw, peer=peer).ack

    def keep(data: bytes, reason: str, peer: str) -> None:
        with transaction.action(factory, actor=actor, clock=clock, ip=peer) as ctx:
            hl7_service.keep_unframed(ctx=ctx, data=data, reason=reason, peer=peer)

    return handle, keep


@app.command("monitor-gateway")
def monitor_gateway(
    port: int = typer.Option(2575, help="TCP port to listen on (MLLP)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    user: str = typer.Option(
        ..., help="Username the gateway acts as (a nurse or physician account; it is audited)."
    ),
) -> None:
    """Listen for bedside monitors (HL7 v2 ORU^R01 over MLLP), store readings, answer ACKs.

    Messages are mapped to the patient's monitored session by patient identifier
    (PID-3 = MRN at the user's site). A message that cannot be parsed or matched is
    answered AE/AR and kept for review (API: /api/v1/hl7/inbox); nothing is dropped.
    """
    from exoneb.accounts import service as accounts
    from exoneb.accounts.permissions import Action, is_allowed
    from exoneb.cli.common import system_action
    from exoneb.core.clock import SystemClock
    from exoneb.core.config import get_settings
    from exoneb.core.db import make_engine, make_session_factory
    from exoneb.monitoring.gateway import MllpGateway

    settings = get_settings()
    with system_action() as ctx:
        account = accounts.get_user_by_username(ctx=ctx, username=user)
        if account is None or not account.active:
            raise typer.BadParameter(f"no active user {user!r}", param_hint="--user")
        if not is_allowed(account.role, Action.OBSERVATION_INGEST):
            raise typer.BadParameter(
                f"{user!r} ({account.role}) may not ingest observations", param_hint="--user"
            )
        actor = accounts.actor_for(account)
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    handle, keep = make_handlers(make_session_factory(engine), settings, actor, SystemClock())
    gateway = MllpGateway(handle, keep, host=host, port=port)
    typer.echo(f"exoneb monitor gateway: MLLP on {host}:{port} as {user}  (Ctrl+C to stop)")
    try:
        asyncio.run(gateway.serve_forever())
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        engine.dispose()
