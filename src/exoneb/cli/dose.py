"""Dose-engine commands: ``exoneb deposit`` and ``exoneb cohort``."""

from __future__ import annotations

from exoneb.cli import app


@app.command()
def deposit() -> None:
    """Estimate the regional lung dose of one nebulizer inhalation (work in progress)."""
    raise SystemExit("exoneb deposit: the dose engine is being built")
