"""``exoneb db …``: schema migrations."""

from __future__ import annotations

import typer

from exoneb.cli import app
from exoneb.core import migrate
from exoneb.core.config import get_settings

db_app = typer.Typer(
    help="Database schema: upgrade, downgrade, check for drift.", no_args_is_help=True
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Bring the database (EXONEB_DATABASE_URL) up to the latest schema."""
    migrate.upgrade(get_settings().database_url, revision)
    typer.echo("Database schema is up to date.")


@db_app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Take the schema back to ``revision`` (development only: drops data)."""
    migrate.downgrade(get_settings().database_url, revision)
    typer.echo(f"Database schema is at {revision}.")


@db_app.command("check")
def check() -> None:
    """Fail if the models and the migrated schema differ."""
    diffs = migrate.drift(get_settings().database_url)
    if diffs:
        for diff in diffs:
            typer.echo(f"drift: {diff}", err=True)
        raise typer.Exit(1)
    typer.echo("No drift between models and schema.")
