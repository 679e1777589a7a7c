"""The Pydantic schema every ``protocols/<id>.yaml`` file must satisfy.

Only the sections the backbone needs exist yet (identity, regulatory basis,
arms/dose levels, sources). Later issues add ``eligibility``, ``release_criteria``,
``preparation``, ``inhalation``, ``monitoring`` and ``discharge`` sections; unknown
sections are refused so that a typo cannot silently disable a rule.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Source(BaseModel):
    """A citation a protocol value relies on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    citation: str = Field(min_length=1)


class Arm(BaseModel):
    """A dose level or study arm a patient can be enrolled in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    label: str = Field(min_length=1)
    dose_particles: float | None = Field(
        default=None, gt=0, description="Particles per session, measured by NTA."
    )
    fill_volume_ml: float | None = Field(default=None, gt=0, le=10)
    source: str = Field(description="Id of the entry in `sources` that this value cites.")


class ProtocolFile(BaseModel):
    """One versioned protocol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(min_length=1, max_length=20)
    title: str = Field(min_length=1)
    phase: str = Field(min_length=1)
    investigational: bool = True
    requires_authorisation: bool = Field(
        default=True,
        description="Sessions need an active IND/CTA + ethics authorisation on the enrolment.",
    )
    arms: tuple[Arm, ...] = Field(min_length=1)
    sources: tuple[Source, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_references(self) -> ProtocolFile:
        """Arm codes are unique and every cited source exists."""
        codes = [arm.code for arm in self.arms]
        if len(codes) != len(set(codes)):
            raise ValueError("arm codes must be unique")
        known = {s.id for s in self.sources}
        for arm in self.arms:
            if arm.source not in known:
                raise ValueError(f"arm {arm.code} cites unknown source {arm.source!r}")
        return self

    def arm(self, code: str) -> Arm | None:
        """The arm with this code, if the protocol has one."""
        return next((a for a in self.arms if a.code == code), None)
