"""``exoneb user add``: create staff accounts from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Role
from exoneb.cli import app
from exoneb.cli.common import system_action
from exoneb.core.config import get_settings
from exoneb.core.errors import DomainError

user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . - _).")],
    role: Annotated[Role, typer.Option(help="One of the six roles.")],
    full_name: Annotated[str, typer.Option("--name", help="Full name shown on signatures.")],
    site: Annotated[str, typer.Option(help="Site code; created if it does not exist.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    site_name: Annotated[str, typer.Option(help="Name for a new site.")] = "",
    time_zone: Annotated[
        str,
        typer.Option(
            help="IANA time zone of a new site (e.g. Europe/London); default EXONEB_SITE_TIME_ZONE."
        ),
    ] = "",
) -> None:
    """Create a staff account (as the ``system`` user; audited)."""
    settings = get_settings()
    try:
        with system_action() as ctx:
            found = accounts.get_site_by_code(ctx=ctx, code=site)
            site_row = found or accounts.create_site(
                ctx=ctx, code=site, name=site_name or site,
                time_zone=time_zone or settings.site_time_zone,
            )  # fmt: skip
            user = accounts.create_user(
                ctx=ctx,
                settings=settings,
                username=username,
                full_name=full_name,
                role=role.value,
                site_id=site_row.id,
                password=password,
            )
    except DomainError as exc:
        typer.echo(f"Not created: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Created {user.username} ({role.value}) at site {site}.")


@user_app.command("site-time-zone")
def site_time_zone(
    site: Annotated[str, typer.Argument(help="Site code.")],
    time_zone: Annotated[str, typer.Argument(help="IANA time zone, e.g. Europe/London.")],
    reason: Annotated[str, typer.Option(help="Why the zone changes (audited).")],
) -> None:
    """Set a site's time zone (as the ``system`` user; audited): next-day calls follow it."""
    try:
        with system_action() as ctx:
            accounts.set_site_time_zone(ctx=ctx, code=site, time_zone=time_zone, reason=reason)
    except DomainError as exc:
        typer.echo(f"Not changed: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Site {site} now uses the time zone {time_zone}.")
