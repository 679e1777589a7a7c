"""``exoneb audit verify``: check the audit trail's hash chain."""

from __future__ import annotations

import typer

from exoneb.cli import app
from exoneb.cli.common import system_action
from exoneb.core.audit import verify_chain

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify() -> None:
    """Report the first edited, deleted or reordered audit row (exit 1), or OK."""
    with system_action() as ctx:
        report = verify_chain(ctx.db)
    if report.ok:
        typer.echo(f"Audit trail OK: {report.rows_checked} rows, hash chain intact.")
        return
    typer.echo(
        f"AUDIT TRAIL TAMPERED: {report.problem} "
        f"(first bad row: {report.first_bad_seq}; {report.rows_checked} rows before it are intact)",
        err=True,
    )
    raise typer.Exit(1)
