"""``exoneb serve``: run the web app with uvicorn."""

from __future__ import annotations

import typer

from exoneb.cli import app
from exoneb.core.config import get_settings


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default EXONEB_HOST)."),
    port: int = typer.Option(None, help="Port (default EXONEB_PORT, 8000)."),
) -> None:
    """Serve the clinic app (pages at /, JSON API at /api/v1, OpenAPI at /openapi.json)."""
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"exoneb is serving on http://{host}:{port}  (Ctrl+C to stop)")
    uvicorn.run(
        "exoneb.web.app:create_app",
        factory=True,
        access_log=settings.access_log,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
    )
