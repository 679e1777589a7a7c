"""``exoneb export``: FHIR R4 Bundles and coordinator CSV tables from the command line.

The export runs as a named staff account (``--user``; the password is asked
for, or read from ``EXONEB_EXPORT_PASSWORD`` in scripts), so the same
permission check (``data.export``) and the same audit row apply as in the web
app — the command line is not a way around either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from exoneb.accounts import passwords
from exoneb.accounts import service as accounts
from exoneb.cli import app
from exoneb.cli.common import system_action
from exoneb.core.config import get_settings
from exoneb.core.context import Actor
from exoneb.core.errors import DomainError
from exoneb.reports import service as reports

export_app = typer.Typer(help="Export records (FHIR R4, CSV); audited.", no_args_is_help=True)
app.add_typer(export_app, name="export")

UserOpt = Annotated[str, typer.Option("--user", help="Your exoneb username (acts as you).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")]


def _login(username: str) -> Actor:
    """The staff account after checking its password (asked for unless in the environment)."""
    settings = get_settings()
    password = os.environ.get("EXONEB_EXPORT_PASSWORD") or typer.prompt("Password", hide_input=True)
    with system_action() as ctx:
        user = accounts.get_user_by_username(ctx=ctx, username=username)
        cheap = settings.cheap_password_hashing
        if (
            user is None
            or not user.active
            or not passwords.verify_password(user.password_hash, password, cheap=cheap)
        ):
            typer.echo("Unknown user or wrong password; nothing was exported.", err=True)
            raise typer.Exit(1)
        return accounts.actor_for(user)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"Written to {out}.", err=True)


@export_app.command("fhir")
def fhir(
    user: UserOpt,
    patient: Annotated[int | None, typer.Option("--patient", help="Patient id.")] = None,
    protocol: Annotated[str | None, typer.Option("--protocol", help="Protocol id.")] = None,
    out: OutOpt = None,
) -> None:
    """A FHIR R4 Bundle (JSON) of one patient or one protocol, validated before it is written."""
    if (patient is None) == (protocol is None):
        typer.echo("Give exactly one of --patient or --protocol.", err=True)
        raise typer.Exit(2)
    actor = _login(user)
    try:
        with system_action(actor) as ctx:
            bundle = reports.export_fhir(ctx=ctx, settings=get_settings(), patient_id=patient,
                                         protocol_id=protocol)  # fmt: skip
    except DomainError as exc:
        typer.echo(f"Not exported: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    _write(json.dumps(bundle, ensure_ascii=False, indent=1), out)


@export_app.command("csv")
def csv(
    user: UserOpt,
    table: Annotated[str, typer.Option("--table", help="sessions, observations, …")],
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol id.")],
    out: OutOpt = None,
) -> None:
    """One coordinator table of a protocol as CSV (columns as in the data dictionary)."""
    actor = _login(user)
    try:
        with system_action(actor) as ctx:
            text = reports.export_csv(ctx=ctx, settings=get_settings(), table=table,
                                      protocol_id=protocol)  # fmt: skip
    except DomainError as exc:
        typer.echo(f"Not exported: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    _write(text, out)
