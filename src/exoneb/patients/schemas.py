"""Request and response models for patients, consent, prescribed care and enrolment.

Field constraints carry messages a nurse understands; the web layer shows
each one next to its field (pages) or returns it with its field path (API, 422).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]
Mrn = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$"
    ),
]


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class PatientBase(BaseModel):
    """Demographics staff can edit."""

    model_config = ConfigDict(str_strip_whitespace=True)

    family_name: ShortText
    given_name: ShortText
    birth_date: date
    sex: Literal["female", "male"] = Field(
        description="Sex used by lung-function reference equations."
    )
    height_cm: float | None = Field(default=None, ge=40, le=250)
    weight_kg: float | None = Field(default=None, ge=1, le=400)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    emergency_contact: str | None = Field(default=None, max_length=200)

    _blanks = field_validator(
        "height_cm", "weight_kg", "phone", "email", "emergency_contact", mode="before"
    )(_blank_to_none)

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth_date(cls, value: date) -> date:
        """No birth dates in the future or before 1900."""
        if value > date.today():
            raise ValueError("The date of birth cannot be in the future.")
        if value.year < 1900:
            raise ValueError("Check the year of birth.")
        return value


class PatientCreate(PatientBase):
    """A new patient at the user's own site."""

    mrn: Mrn


class PatientUpdate(PatientBase):
    """Changed demographics; ``version`` is the one the user saw (optimistic locking)."""

    version: int = Field(ge=1)


class PatientRead(PatientBase):
    """A patient as shown to staff."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    mrn: str
    status: str
    void_reason: str | None
    updated_at: datetime
    updated_by: str
    version: int


class VoidRequest(BaseModel):
    """Voiding needs a reason; ``version`` guards against voiding a changed record."""

    reason: Reason
    version: int | None = Field(default=None, ge=1)


class ConsentCreate(BaseModel):
    """Consent the user obtained."""

    document_version: ShortText = Field(description="Version of the consent document signed.")
    consent_date: date
    leaflet_language: str | None = Field(
        default=None,
        max_length=20,
        description="Language of the patient-information leaflet the patient received "
        "(e.g. 'en'); its version and SHA-256 are recorded with the consent. "
        "An amendment without it keeps the leaflet of the record it corrects.",
    )
    leaflet_version: str | None = Field(
        default=None,
        max_length=20,
        description="The leaflet version the patient was shown; refused (409) when the "
        "leaflet has changed since.",
    )

    @field_validator("consent_date")
    @classmethod
    def _not_future(cls, value: date) -> date:
        """Consent cannot be dated in the future."""
        if value > date.today():
            raise ValueError("The consent date cannot be in the future.")
        return value

    @model_validator(mode="after")
    def _version_needs_language(self) -> ConsentCreate:
        """A leaflet version means nothing without the language it is in."""
        if self.leaflet_version is not None and self.leaflet_language is None:
            raise ValueError("Choose the language of the leaflet the patient received.")
        return self


class ConsentForm(ConsentCreate):
    """Consent recorded on the patient page, where staff must say which leaflet was given.

    (The API keeps ``leaflet_language`` optional so older clients still work;
    such consents show the leaflet as "not recorded".)
    """

    leaflet_language: str = Field(max_length=20)


class ConsentAmend(ConsentCreate):
    """A correction of a consent record; the old version stays, marked superseded."""

    reason: Reason


class ConsentRead(BaseModel):
    """A consent record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    document_version: str
    consent_date: date
    taken_by: str
    recorded_at: datetime
    status: str
    status_reason: str | None
    supersedes_id: int | None = None
    amended_by: str | None = None
    leaflet_language: str | None = None
    leaflet_version: str | None = None
    leaflet_sha256: str | None = None
    version: int


class CareCreate(BaseModel):
    """One prescribed respiratory medicine, as the patient's prescriber ordered it."""

    medicine: Text
    dose: ShortText
    route: ShortText
    frequency: ShortText
    prescriber: Text
    note: str | None = Field(default=None, max_length=1000)

    _blank = field_validator("note", mode="before")(_blank_to_none)


class CareRead(CareCreate):
    """A prescribed-care entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    recorded_at: datetime
    recorded_by: str
    status: str
    void_reason: str | None
    version: int


class EnrolmentCreate(BaseModel):
    """Enrolment in a protocol under a regulatory authorisation."""

    protocol_id: ShortText
    arm_code: ShortText = Field(description="Dose level or arm code from the protocol file.")
    authorisation_kind: Literal["IND", "CTA"]
    authorisation_number: ShortText
    ethics_approval: ShortText = Field(description="Ethics committee / IRB approval reference.")
    authorisation_valid_until: date | None = None

    _blank = field_validator("authorisation_valid_until", mode="before")(_blank_to_none)


class EnrolmentRead(BaseModel):
    """An enrolment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    protocol_id: str
    protocol_version: str
    arm_code: str
    authorisation_kind: str
    authorisation_number: str
    ethics_approval: str
    authorisation_valid_until: date | None
    enrolled_at: datetime
    enrolled_by: str
    status: str
    version: int
