"""``exoneb information check``: validate the leaflet files before patients see them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from exoneb.cli import app
from exoneb.core.config import get_settings
from exoneb.information.content import LeafletFileError, Library

information_app = typer.Typer(help="Patient information leaflets.", no_args_is_help=True)
app.add_typer(information_app, name="information")


@information_app.command("check")
def check(
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="The clinic folder to check (default: EXONEB_INFORMATION_DIR)."),
    ] = None,
) -> None:
    """List each language's leaflet (version, date, hash, files), or name the broken file (exit 1).

    A clinic runs this after editing its files: the page reads them on every
    request, so a mistake would otherwise first show up as an error to a patient.
    """
    try:
        library = Library(folder or get_settings().information_dir)
        for code in library.languages():
            leaflet = library.exact(code)
            if leaflet is None:  # listed languages always have a leaflet
                continue
            front = leaflet.front
            typer.echo(
                f"{code}  {front.language_name}  version {front.version} ({front.date})  "
                f"sha256 {leaflet.sha256[:12]}  {leaflet.leaflet_file} + {leaflet.contact_file}"
            )
    except LeafletFileError as exc:
        typer.echo(f"Leaflet files not usable: {exc}", err=True)
        raise typer.Exit(1) from exc
