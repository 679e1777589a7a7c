"""The FastAPI app factory: routers of every package, static files, security, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from exoneb.core.clock import Clock, SystemClock
from exoneb.core.config import Settings, get_settings
from exoneb.core.db import make_engine, make_session_factory
from exoneb.web import errors, security
from exoneb.web.gateway import hl7_listener
from exoneb.web.state import AppState, app_state

STATIC_DIR = Path(__file__).resolve().parent / "static"


def routers() -> list[tuple[str, APIRouter]]:
    """Every package's router with its mount prefix (JSON API first, then pages)."""
    from exoneb.accounts import api as accounts_api
    from exoneb.accounts import pages as accounts_pages
    from exoneb.assessment import api as assessment_api
    from exoneb.assessment import pages as assessment_pages
    from exoneb.audit_trail import api as audit_api
    from exoneb.audit_trail import pages as audit_pages
    from exoneb.information import api as information_api
    from exoneb.information import pages as information_pages
    from exoneb.inhalation import api as inhalation_api
    from exoneb.inhalation import pages as inhalation_pages
    from exoneb.monitoring import api as monitoring_api
    from exoneb.monitoring import escalation_api, escalation_pages
    from exoneb.monitoring import pages as monitoring_pages
    from exoneb.patients import api as patients_api
    from exoneb.patients import pages as patients_pages
    from exoneb.preparation import api as preparation_api
    from exoneb.preparation import pages as preparation_pages
    from exoneb.protocols import api as protocols_api
    from exoneb.reports import api as reports_api
    from exoneb.reports import pages as reports_pages
    from exoneb.sessions import api as sessions_api
    from exoneb.sessions import pages as sessions_pages

    api = [accounts_api, patients_api, protocols_api, sessions_api, assessment_api, audit_api]
    api += [inhalation_api]
    api += [monitoring_api]
    pages = [accounts_pages, patients_pages, sessions_pages, assessment_pages, audit_pages]
    api.append(information_api)
    pages.append(information_pages)
    api.append(reports_api)
    pages.append(reports_pages)
    pages += [inhalation_pages]
    api.append(preparation_api)
    pages.append(preparation_pages)
    pages += [monitoring_pages]
    api.append(escalation_api)
    pages.append(escalation_pages)
    return [("/api/v1", m.router) for m in api] + [("", m.router) for m in pages]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment) and ``clock``."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with hl7_listener(app.state.exoneb) as gateway:  # EXONEB_HL7_PORT, if set
                app.state.hl7_gateway = gateway
                yield
        finally:
            engine.dispose()  # close pooled connections when the server stops

    app = FastAPI(
        lifespan=lifespan,
        title="exoneb",
        version="0.1.0",
        summary="Exosome inhalation therapy sessions: decision support and records, "
        "not medical advice.",
        docs_url=None,  # Swagger UI needs a CDN and inline scripts; /openapi.json stays
        redoc_url=None,
        dependencies=[Depends(security.check_origin)],
    )
    app.state.exoneb = AppState(
        settings=settings,
        engine=engine,
        factory=make_session_factory(engine),
        clock=clock or SystemClock(),
    )
    app.add_middleware(security.SecurityHeaders)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for prefix, router in routers():
        app.include_router(router, prefix=prefix)

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> Response:
        """Liveness and database reachability."""
        with app_state(request).engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        """Start at the patient list."""
        return RedirectResponse("/patients", status_code=303)

    return app
