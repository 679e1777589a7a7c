"""``exoneb serve``: run the web app with uvicorn (and, if asked, the bedside monitors' gateway)."""

from __future__ import annotations

import typer

from exoneb.cli import app
from exoneb.core.config import get_settings


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default EXONEB_HOST)."),
    port: int = typer.Option(None, help="Port (default EXONEB_PORT, 8000)."),
    hl7_port: int = typer.Option(
        None,
        min=0,
        max=65535,
        help="Also listen for bedside monitors (HL7 v2 over MLLP) on this port, in this "
        "process (default EXONEB_HL7_PORT; unset: no listener).",
    ),
    hl7_host: str = typer.Option(
        None, help="Address of that listener (default EXONEB_HL7_HOST, 127.0.0.1)."
    ),
    hl7_user: str = typer.Option(
        None, help="Username the listener acts as, as monitor-gateway --user (EXONEB_HL7_USER)."
    ),
) -> None:
    """Serve the clinic app (pages at /, JSON API at /api/v1, OpenAPI at /openapi.json).

    With ``--hl7-port`` the MLLP listener of ``exoneb monitor-gateway`` runs inside
    the server, so on SQLite each stored reading wakes the live charts at once.
    """
    import uvicorn
    from pydantic import ValidationError

    from exoneb.core.config import Settings
    from exoneb.web.app import create_app

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    given = {"hl7_port": hl7_port, "hl7_host": hl7_host, "hl7_user": hl7_user}
    changes = {k: v for k, v in given.items() if v is not None}
    if changes:
        try:  # validated as if they had come from the environment
            settings = Settings.model_validate(settings.model_dump() | changes)
        except ValidationError as exc:
            raise typer.BadParameter(str(exc), param_hint="--hl7-port/--hl7-user") from exc
    typer.echo(f"exoneb is serving on http://{host}:{port}  (Ctrl+C to stop)")
    if settings.hl7_port is not None:
        typer.echo(
            f"bedside monitors (MLLP): {settings.hl7_host}:{settings.hl7_port} "
            f"as {settings.hl7_user}"
        )
    uvicorn.run(
        create_app(settings),
        access_log=settings.access_log,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
    )
