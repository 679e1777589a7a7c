"""``exoneb monitor-gateway``: the MLLP listener for bedside monitors (HL7 v2 ORU^R01, PCD-01)."""

from __future__ import annotations

import asyncio

import typer

from exoneb.cli import app


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
    On SQLite, run the listener inside the web server instead (``exoneb serve
    --hl7-port``) so live charts are woken at once rather than at their 5 s re-read.
    """
    from exoneb.cli.common import system_action
    from exoneb.core.clock import SystemClock
    from exoneb.core.config import get_settings
    from exoneb.core.db import make_engine, make_session_factory
    from exoneb.core.errors import DomainError
    from exoneb.monitoring import hl7_service
    from exoneb.monitoring.gateway import MllpGateway

    settings = get_settings()
    try:
        with system_action() as ctx:
            actor = hl7_service.gateway_actor(ctx=ctx, username=user)
    except DomainError as exc:
        raise typer.BadParameter(exc.message, param_hint="--user") from exc
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    handle, keep = hl7_service.gateway_handlers(
        make_session_factory(engine), settings, actor, SystemClock()
    )
    gateway = MllpGateway(handle, keep, host=host, port=port)
    typer.echo(f"exoneb monitor gateway: MLLP on {host}:{port} as {user}  (Ctrl+C to stop)")
    try:
        asyncio.run(gateway.serve_forever())
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        engine.dispose()
