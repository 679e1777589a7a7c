"""The ``exoneb`` command line.

Each group of commands lives in its own module and registers itself on
:data:`app` here, so that the dose-engine commands, the server and database
commands and the export commands stay independent.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="exoneb",
    help=(
        "exoneb: exosome inhalation therapy sessions and lung-dose estimates. "
        "Decision support and record keeping, not medical advice."
    ),
    no_args_is_help=True,
    add_completion=False,
)


def _register() -> None:
    """Import the command modules so they attach their commands to :data:`app`."""
    from exoneb.cli import (  # noqa: F401
        audit,
        database,
        demo,
        dose,
        export,
        gateway,
        information,
        server,
        spirometry,
        users,
    )
    from exoneb.monitoring import escalation_gate  # noqa: F401  (the enrolment guard)


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
