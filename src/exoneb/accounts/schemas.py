"""Request and response models for logins, users and signatures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from exoneb.accounts.permissions import Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class LoginRequest(BaseModel):
    """Username and password."""

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    password: str = Field(min_length=1, max_length=256)


class UserRead(BaseModel):
    """A staff account as shown to others (never the hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: Role
    site_id: int
    active: bool


class LoginResponse(BaseModel):
    """A successful login: the user and the CSRF token to send with every change."""

    user: UserRead
    csrf_token: str


class UserCreate(BaseModel):
    """A new staff account at the administrator's site."""

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80)]
    full_name: Name
    role: Role
    password: str = Field(min_length=1, max_length=256)


class DeactivateRequest(BaseModel):
    """Why an account is being deactivated."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class SignRequest(BaseModel):
    """A signature: its meaning and the signer's password, entered again."""

    meaning: str = Field(description="performed | verified | approved | reviewed")
    password: str = Field(min_length=1, max_length=256)


class SignatureRead(BaseModel):
    """A stored signature and whether it still matches the record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    record_type: str
    record_id: int
    record_version: int
    meaning: str
    statement: str = ""
    signer_name: str
    signed_at: datetime
    content_sha256: str
    valid: bool = False


class PasswordChange(BaseModel):
    """The current password (to prove it is you) and the new one."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)
