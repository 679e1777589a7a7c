"""Patient pages: list and search, registration, the patient page and its forms.

Forms post normally (htmx boosts them); a refused form is rendered again with
each message next to its field and a 4xx status, so nothing is half-saved.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from exoneb.accounts.service import SIGNATURE_MEANINGS
from exoneb.core.errors import DomainError, DuplicateRecord, InvalidInput
from exoneb.information import service as information
from exoneb.inhalation import service as inhalation
from exoneb.patients import service
from exoneb.patients.schemas import (
    CareCreate,
    ConsentAmend,
    ConsentForm,
    EnrolmentCreate,
    PatientCreate,
    PatientUpdate,
    VoidRequest,
)
from exoneb.protocols import registry
from exoneb.sessions import service as sessions
from exoneb.sessions.rules import STATE_LABELS
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.forms import parse
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.get("/patients")
def patient_list(request: Request, auth: AuthDep, q: str = "") -> Response:
    """The patient list, filtered by name or MRN."""
    with auth.action() as ctx:
        patients = service.search_patients(ctx=ctx, query=q[:100])
    return render(request, "patients/list.html", {"patients": patients, "q": q}, auth=auth)


@router.get("/patients/new")
def new_patient(request: Request, auth: AuthDep) -> Response:
    """The registration form."""
    return render(request, "patients/form.html", {"patient": None}, auth=auth)


@router.post("/patients")
def create_patient(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Register a patient, or show the form again with the problems."""
    data, errors = parse(PatientCreate, form)
    status = 422
    if data is not None:
        try:
            with auth.action() as ctx:
                patient = service.create_patient(ctx=ctx, data=data)
            return _redirect(f"/patients/{patient.id}")
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
        except DuplicateRecord as exc:
            errors, status = {"mrn": exc.message}, exc.status_code
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            errors, status = {"form": exc.message}, exc.status_code
    return render(
        request,
        "patients/form.html",
        {"patient": None, "errors": errors, "values": form},
        auth=auth,
        status_code=status,
    )


def patient_page(
    request: Request,
    auth: Auth,
    patient_id: int,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """Render the patient page (details, consent, care, enrolments, timeline)."""
    with auth.action() as ctx:
        patient = service.get_patient(ctx=ctx, patient_id=patient_id)
        consents = [
            (c, service.consent_signatures(ctx=ctx, consent=c))
            for c in service.consents(ctx=ctx, patient_id=patient_id)
        ]
        context = {
            "patient": patient,
            "consents": consents,
            "current_consent": service.current_consent(ctx=ctx, patient_id=patient_id),
            "care": service.prescribed_care(ctx=ctx, patient_id=patient_id),
            "enrolments": service.enrolments(ctx=ctx, patient_id=patient_id),
            "sessions": sessions.sessions_of(ctx=ctx, patient_id=patient_id),
            "inhalation_dose": inhalation.cumulative_for(ctx=ctx, patient_id=patient_id).to_dict(),
            "protocols": list(registry.load_all(auth.state.settings.protocols_dir).values()),
            "leaflets": information.choices(settings=auth.state.settings),
            "meanings": SIGNATURE_MEANINGS,
            "state_labels": STATE_LABELS,
            "today": ctx.clock.now().date().isoformat(),
            "ferrors": {},
            "fvalues": {},
        }
    context.update(extra or {})
    return render(request, "patients/detail.html", context, auth=auth, status_code=status_code)


def refused(
    request: Request,
    auth: Auth,
    patient_id: int,
    form_name: str,
    errors: dict[str, str],
    values: dict[str, str],
    status_code: int,
) -> Response:
    """The patient page again, with one form's errors and values kept."""
    return patient_page(
        request,
        auth,
        patient_id,
        {"ferrors": {form_name: errors}, "fvalues": {form_name: values}},
        status_code=status_code,
    )


@router.get("/patients/{patient_id}")
def show_patient(request: Request, patient_id: int, auth: AuthDep) -> Response:
    """The patient page."""
    return patient_page(request, auth, patient_id)


@router.get("/patients/{patient_id}/edit")
def edit_patient(request: Request, patient_id: int, auth: AuthDep) -> Response:
    """The demographics form, with the version being edited."""
    with auth.action() as ctx:
        patient = service.get_patient(ctx=ctx, patient_id=patient_id)
    values = {k: "" if v is None else str(v) for k, v in service.snapshot(patient).items()}
    return render(request, "patients/form.html", {"patient": patient, "values": values}, auth=auth)


@router.post("/patients/{patient_id}/edit")
def update_patient(request: Request, patient_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Save demographics; a stale version shows who changed the record first."""
    data, errors = parse(PatientUpdate, form)
    status = 422
    if data is not None:
        try:
            with auth.action() as ctx:
                service.update_patient(ctx=ctx, patient_id=patient_id, data=data)
            return _redirect(f"/patients/{patient_id}")
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            errors, status = {"form": exc.message}, exc.status_code
    with auth.action() as ctx:
        patient = service.get_patient(ctx=ctx, patient_id=patient_id)
    return render(
        request,
        "patients/form.html",
        {"patient": patient, "errors": errors, "values": form},
        auth=auth,
        status_code=status,
    )


def _form_action(
    request: Request,
    auth: Auth,
    patient_id: int,
    form_name: str,
    form: dict[str, str],
    model: type[Any],
    run: Any,
) -> Response:
    """Validate ``form`` with ``model``, run the service call, or re-render with errors."""
    data, errors = parse(model, form)
    status = 422
    if data is not None:
        try:
            with auth.action() as ctx:
                run(ctx, data)
            return _redirect(f"/patients/{patient_id}#{form_name}")
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            errors, status = {"form": exc.message}, exc.status_code
    return refused(request, auth, patient_id, form_name, errors, form, status)


@router.post("/patients/{patient_id}/consents")
def add_consent(request: Request, patient_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record consent."""
    return _form_action(
        request,
        auth,
        patient_id,
        "consent",
        form,
        ConsentForm,
        lambda ctx, data: service.record_consent(
            ctx=ctx, patient_id=patient_id, data=data, settings=auth.state.settings
        ),
    )


@router.post("/patients/{patient_id}/consents/{consent_id}/sign")
def sign_consent(
    request: Request, patient_id: int, consent_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Sign a consent record with password re-entry."""
    try:
        with auth.action() as ctx:
            service.sign_consent(
                ctx=ctx,
                settings=auth.state.settings,
                consent_id=consent_id,
                meaning=form.get("meaning", ""),
                password=form.get("password", ""),
            )
        return _redirect(f"/patients/{patient_id}#consent")
    except InvalidInput as exc:
        return refused(
            request,
            auth,
            patient_id,
            f"sign-{consent_id}",
            {exc.field: exc.message},
            {"meaning": form.get("meaning", "")},
            422,
        )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        return refused(
            request,
            auth,
            patient_id,
            f"sign-{consent_id}",
            {"form": exc.message},
            {},
            exc.status_code,
        )


@router.post("/patients/{patient_id}/consents/{consent_id}/amend")
def amend_consent(
    request: Request, patient_id: int, consent_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Correct a consent record by amendment."""
    return _form_action(
        request,
        auth,
        patient_id,
        f"amend-{consent_id}",
        form,
        ConsentAmend,
        lambda ctx, data: service.amend_consent(
            ctx=ctx, consent_id=consent_id, data=data, settings=auth.state.settings
        ),
    )


@router.post("/patients/{patient_id}/consents/{consent_id}/withdraw")
def withdraw_consent(
    request: Request, patient_id: int, consent_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Record that the patient withdrew consent."""
    return _form_action(
        request,
        auth,
        patient_id,
        f"withdraw-{consent_id}",
        form,
        VoidRequest,
        lambda ctx, data: service.withdraw_consent(
            ctx=ctx, consent_id=consent_id, reason=data.reason
        ),
    )


@router.post("/patients/{patient_id}/care")
def add_care(request: Request, patient_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record a prescribed medicine."""
    return _form_action(
        request,
        auth,
        patient_id,
        "care",
        form,
        CareCreate,
        lambda ctx, data: service.add_care(ctx=ctx, patient_id=patient_id, data=data),
    )


@router.post("/patients/{patient_id}/care/{care_id}/void")
def void_care(
    request: Request, patient_id: int, care_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Void a care entry recorded in error."""
    return _form_action(
        request,
        auth,
        patient_id,
        f"void-care-{care_id}",
        form,
        VoidRequest,
        lambda ctx, data: service.void_care(ctx=ctx, care_id=care_id, reason=data.reason),
    )


@router.post("/patients/{patient_id}/enrolments")
def enrol(request: Request, patient_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Enrol the patient in a protocol."""
    return _form_action(
        request,
        auth,
        patient_id,
        "enrolment",
        form,
        EnrolmentCreate,
        lambda ctx, data: service.enrol(
            ctx=ctx, settings=auth.state.settings, patient_id=patient_id, data=data
        ),
    )


@router.post("/patients/{patient_id}/void")
def void_patient(request: Request, patient_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Void a registration entered in error."""
    return _form_action(
        request,
        auth,
        patient_id,
        "void",
        form,
        VoidRequest,
        lambda ctx, data: service.void_patient(
            ctx=ctx, patient_id=patient_id, reason=data.reason, version=data.version
        ),
    )
