"""The discharge checklist, evaluated from the observations against the baseline.

Criteria (``reference/clinical.md`` §4.4 [design default], all required):

* minimum observation time elapsed, and every scheduled observation recorded;
* SpO2 ≥ baseline − 2 points and at or above the patient's floor;
* heart rate, respiratory rate and blood pressure within 20 % of baseline;
* FEV1 (or PEF) ≥ 90 % of the same-day pre-dose value;
* no wheeze, no stridor;
* symptoms ≤ CTCAE grade 1;
* the patient walks unaided as before; written instructions given;
* after a first session, the follow-up call scheduled.

Each criterion is judged on the *latest* post-session value recorded by
``now``. Missing data is never a pass: a criterion without its value or its
baseline is ``missing`` and blocks discharge. The only exception is
spirometry in a session whose protocol schedule has none and where none was
measured: that item is ``not_required``, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from exoneb.monitoring.citations import NOT_IN_REFERENCE, cited
from exoneb.monitoring.observations import Baseline, Observation, require_aware
from exoneb.monitoring.schedule import (
    ObservationKind,
    ObservationSchedule,
    SlotState,
    schedule_status,
)

__all__ = [
    "Attestations",
    "ChecklistItem",
    "DischargeChecklist",
    "DischargeParameters",
    "ItemStatus",
    "evaluate_discharge",
]

_S44 = "clinical.md §4.4 [design default]"


@dataclass(frozen=True, slots=True)
class DischargeParameters:
    """Discharge thresholds; each field cites its source."""

    spo2_margin_points: float = cited(2.0, _S44 + ": SpO2 ≥ baseline −2 points")
    spo2_floor_pct: float = cited(
        90.0, _S44 + ": 'and above the patient's floor'; floor = the §4.3 alert floor 90 %"
    )
    spo2_floor_hypercapnia_pct: float = cited(
        88.0, _S44 + ": floor for the hypercapnic-risk group = the §4.3 alert floor 88 %"
    )
    vitals_tolerance_fraction: float = cited(0.20, _S44 + ": HR, RR and BP within about 20 %")
    airway_min_fraction: float = cited(0.90, _S44 + ": FEV1 or PEF ≥90 % of pre-dose")
    max_symptom_grade: int = cited(1, _S44 + ": symptoms ≤ CTCAE G1")
    follow_up_after_days: int = cited(
        1,
        _S44 + ": next-day telephone follow-up scheduled after the first session "
        "(the next calendar day in the site's time zone)",
    )
    follow_up_local_time: str = cited(
        "10:00",
        NOT_IN_REFERENCE + " (the next-day call is due at 10:00 site time: within office hours, "
        "when the patient has been up for a while and staff can act on what they hear)",
    )
    follow_up_early_h: float = cited(
        12.0, NOT_IN_REFERENCE + " (a follow-up call is on the list from 12 h before it is due)"
    )
    follow_up_grace_h: float = cited(
        12.0, NOT_IN_REFERENCE + " (a follow-up call is overdue 12 h after it was due)"
    )
    follow_up_retry_h: float = cited(
        2.0, NOT_IN_REFERENCE + " (a patient not reached is called again 2 h later by default)"
    )
    follow_up_max_attempts: int = cited(
        3,
        NOT_IN_REFERENCE + " (after 3 unanswered attempts the call is given up and stays listed "
        "until a physician records what was done instead, e.g. a letter or the GP informed)",
    )

    def __post_init__(self) -> None:
        if not self.follow_up_retry_h > 0:
            raise ValueError("follow_up_retry_h must be positive")
        for name in ("follow_up_early_h", "follow_up_grace_h"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more")
        for name in ("follow_up_after_days", "follow_up_max_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number, 1 or more")
        self.follow_up_wall_time()

    def follow_up_wall_time(self) -> time:
        """``follow_up_local_time`` as a time of day; ValueError unless it is ``HH:MM`` (24 h)."""
        text = self.follow_up_local_time
        if not isinstance(text, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            raise ValueError(
                f"follow_up_local_time must be a 24-hour 'HH:MM' site time, not {text!r}"
            )
        return time(int(text[:2]), int(text[3:]))


class ItemStatus(StrEnum):
    """State of one checklist item."""

    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"  # value or baseline not recorded: blocks discharge
    NOT_REQUIRED = "not_required"  # the protocol does not ask for it in this session


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One discharge criterion with the values used."""

    item_id: str
    label: str
    status: ItemStatus
    detail: str
    source: str = _S44

    @property
    def ok(self) -> bool:
        """Whether this item allows discharge."""
        return self.status in (ItemStatus.PASS, ItemStatus.NOT_REQUIRED)


@dataclass(frozen=True, slots=True)
class Attestations:
    """Criteria staff confirm by hand; ``None`` = not yet confirmed (blocks discharge)."""

    walks_unaided: bool | None = None
    instructions_given: bool | None = None
    follow_up_scheduled: bool | None = None


@dataclass(frozen=True, slots=True)
class DischargeChecklist:
    """Every criterion and the overall answer."""

    items: tuple[ChecklistItem, ...]

    @property
    def dischargeable(self) -> bool:
        """True only when every item passes (or is not required)."""
        return all(item.ok for item in self.items)

    @property
    def blockers(self) -> tuple[ChecklistItem, ...]:
        """The items that stop discharge, to show first."""
        return tuple(item for item in self.items if not item.ok)


def _latest(obs: Sequence[Observation], measure: str) -> Observation | None:
    with_value = [o for o in obs if o.has(measure)]
    return max(with_value, key=lambda o: o.at) if with_value else None


def _latest_flag(obs: Sequence[Observation], name: str) -> Observation | None:
    found = [o for o in obs if getattr(o, name) is not None]
    return max(found, key=lambda o: o.at) if found else None


def _within(
    item_id: str,
    label: str,
    obs: Sequence[Observation],
    base: float | None,
    measure: str,
    unit: str,
    tol: float,
) -> ChecklistItem:
    latest = _latest(obs, measure)
    if base is None:
        return ChecklistItem(item_id, label, ItemStatus.MISSING, f"No baseline {label.lower()}.")
    if latest is None:
        return ChecklistItem(item_id, label, ItemStatus.MISSING, f"No {label.lower()} recorded.")
    value = float(getattr(latest, measure))
    low, high = base * (1 - tol), base * (1 + tol)
    ok = low - 1e-9 <= value <= high + 1e-9
    detail = (
        f"{value:g} {unit} at {latest.at.isoformat()}; baseline {base:g} {unit}, "
        f"allowed {low:.4g}–{high:.4g}."
    )
    return ChecklistItem(item_id, label, ItemStatus.PASS if ok else ItemStatus.FAIL, detail)


def _absent(item_id: str, label: str, obs: Sequence[Observation], name: str) -> ChecklistItem:
    latest = _latest_flag(obs, name)
    if latest is None:
        return ChecklistItem(item_id, label, ItemStatus.MISSING, f"{name.title()} not examined.")
    present = bool(getattr(latest, name))
    return ChecklistItem(
        item_id,
        label,
        ItemStatus.FAIL if present else ItemStatus.PASS,
        f"{name.title()} {'present' if present else 'absent'} at {latest.at.isoformat()}.",
    )


def _attested(item_id: str, label: str, value: bool | None) -> ChecklistItem:
    if value is None:
        return ChecklistItem(item_id, label, ItemStatus.MISSING, "Not confirmed yet.")
    return ChecklistItem(
        item_id,
        label,
        ItemStatus.PASS if value else ItemStatus.FAIL,
        "Confirmed." if value else "Confirmed as not done.",
    )


def evaluate_discharge(
    *,
    baseline: Baseline,
    observations: Sequence[Observation],
    schedule: ObservationSchedule,
    now: datetime,
    attestations: Attestations,
    first_session: bool,
    params: DischargeParameters | None = None,
    follow_up_due_at: datetime | None = None,
) -> DischargeChecklist:
    """Evaluate the discharge checklist at ``now``.

    Parameters
    ----------
    baseline : Baseline
        Same-day pre-session values.
    observations : sequence of Observation
        The session's observations; only those from the end of nebulization
        (``schedule.start``) up to ``now`` count.
    schedule : ObservationSchedule
        Gives the minimum observation time and the observations that were due.
    now : datetime
        Evaluation time.
    attestations : Attestations
        Walks unaided, instructions given, follow-up scheduled.
    first_session : bool
        Whether the follow-up call is required (clinical.md §4.4).
    params : DischargeParameters, optional
        Protocol values; the reference defaults when omitted.
    follow_up_due_at : datetime, optional
        When the follow-up call the discharge will schedule is due. Given, the
        follow-up item passes on it (the system schedules the call; nobody
        needs to attest it); omitted, the attestation decides.

    Returns
    -------
    DischargeChecklist
        One item per criterion; ``dischargeable`` only when all pass.
    """
    p = params or DischargeParameters()
    require_aware(now, "now")
    post = [o for o in observations if schedule.start <= o.at <= now]
    items: list[ChecklistItem] = []

    remaining = schedule.minimum_end_at - now
    items.append(
        ChecklistItem(
            "observation_time",
            "Minimum observation time",
            ItemStatus.PASS if schedule.observation_complete(now) else ItemStatus.FAIL,
            f"Observation until {schedule.minimum_end_at.isoformat()}"
            + ("." if remaining.total_seconds() <= 0 else f"; {remaining} remaining."),
            "clinical.md §4.4 [design default] via the observation schedule",
        )
    )
    statuses = schedule_status(schedule, post, now)
    open_slots = [s for s in statuses if s.state is not SlotState.DONE]
    items.append(
        ChecklistItem(
            "scheduled_observations",
            "All scheduled observations recorded",
            ItemStatus.PASS if not open_slots else ItemStatus.MISSING,
            "All recorded."
            if not open_slots
            else "; ".join(
                f"{o.slot.kind.value} due {o.slot.due_at.isoformat()}: {', '.join(o.missing)}"
                for o in open_slots
            ),
            "clinical.md §4.4 [design default] via the observation schedule",
        )
    )

    floor = p.spo2_floor_hypercapnia_pct if baseline.hypercapnia_risk else p.spo2_floor_pct
    spo2 = _latest(post, "spo2_pct")
    if baseline.spo2_pct is None or spo2 is None or spo2.spo2_pct is None:
        what = "baseline SpO2" if baseline.spo2_pct is None else "SpO2 reading"
        items.append(ChecklistItem("spo2", "SpO2", ItemStatus.MISSING, f"No {what}."))
    else:
        need = max(baseline.spo2_pct - p.spo2_margin_points, floor)
        ok = spo2.spo2_pct >= need - 1e-9
        items.append(
            ChecklistItem(
                "spo2",
                "SpO2",
                ItemStatus.PASS if ok else ItemStatus.FAIL,
                f"{spo2.spo2_pct:g} % at {spo2.at.isoformat()}; needs ≥ {need:g} % (baseline "
                f"{baseline.spo2_pct:g} − {p.spo2_margin_points:g}, floor {floor:g} %).",
            )
        )

    tol = p.vitals_tolerance_fraction
    items += [
        _within(
            "heart_rate",
            "Heart rate",
            post,
            baseline.heart_rate_per_min,
            "heart_rate_per_min",
            "/min",
            tol,
        ),
        _within(
            "resp_rate",
            "Respiratory rate",
            post,
            baseline.resp_rate_per_min,
            "resp_rate_per_min",
            "/min",
            tol,
        ),
        _within(
            "sbp", "Systolic blood pressure", post, baseline.sbp_mmhg, "sbp_mmhg", "mm[Hg]", tol
        ),
        _within(
            "dbp", "Diastolic blood pressure", post, baseline.dbp_mmhg, "dbp_mmhg", "mm[Hg]", tol
        ),
    ]
    items.append(_airway_item(post, baseline, schedule, p))
    items += [
        _absent("no_wheeze", "No wheeze", post, "wheeze"),
        _absent("no_stridor", "No stridor", post, "stridor"),
    ]
    graded = _latest_flag(post, "symptom_grade")
    if graded is None or graded.symptom_grade is None:
        items.append(
            ChecklistItem(
                "symptoms", "Symptoms ≤ grade 1", ItemStatus.MISSING, "No symptom grade recorded."
            )
        )
    else:
        ok = graded.symptom_grade <= p.max_symptom_grade
        items.append(
            ChecklistItem(
                "symptoms",
                f"Symptoms ≤ grade {p.max_symptom_grade}",
                ItemStatus.PASS if ok else ItemStatus.FAIL,
                f"Grade {graded.symptom_grade} at {graded.at.isoformat()}.",
            )
        )
    items += [
        _attested("walks_unaided", "Walks unaided as before", attestations.walks_unaided),
        _attested(
            "instructions_given", "Written instructions given", attestations.instructions_given
        ),
    ]
    if first_session and follow_up_due_at is not None:
        due = require_aware(follow_up_due_at, "follow_up_due_at")
        items.append(
            ChecklistItem(
                "follow_up_scheduled",
                "Next-day follow-up call scheduled",
                ItemStatus.PASS,
                f"Scheduled on discharge: call due {due.isoformat()} (protocol default: "
                f"day +{p.follow_up_after_days} at {p.follow_up_local_time} site time).",
            )
        )
    elif first_session:
        items.append(
            _attested(
                "follow_up_scheduled",
                "Next-day follow-up call scheduled",
                attestations.follow_up_scheduled,
            )
        )
    else:
        items.append(
            ChecklistItem(
                "follow_up_scheduled",
                "Next-day follow-up call scheduled",
                ItemStatus.NOT_REQUIRED,
                "Only after a first session.",
            )
        )
    return DischargeChecklist(tuple(items))


def _airway_item(
    post: Sequence[Observation],
    baseline: Baseline,
    schedule: ObservationSchedule,
    p: DischargeParameters,
) -> ChecklistItem:
    label = "FEV1 (or PEF) ≥ 90 % of pre-dose"
    fev1, pef = _latest(post, "fev1_l"), _latest(post, "pef_l_per_min")
    scheduled = any(s.kind is ObservationKind.SPIROMETRY for s in schedule.slots)
    if fev1 is None and pef is None and not scheduled:
        return ChecklistItem(
            "airway",
            label,
            ItemStatus.NOT_REQUIRED,
            "No spirometry scheduled for this session and none measured.",
        )
    for obs, attr, base, unit in (
        (fev1, "fev1_l", baseline.fev1_l, "L"),
        (pef, "pef_l_per_min", baseline.pef_l_per_min, "L/min"),
    ):
        if obs is None or base is None:
            continue
        value = float(getattr(obs, attr))
        need = base * p.airway_min_fraction
        ok = value >= need - 1e-9
        return ChecklistItem(
            "airway",
            label,
            ItemStatus.PASS if ok else ItemStatus.FAIL,
            f"{attr} {value:g} {unit} at {obs.at.isoformat()} = {value / base:.0%} of pre-dose "
            f"{base:g} {unit}; needs ≥ {need:.4g} {unit}.",
        )
    return ChecklistItem(
        "airway",
        label,
        ItemStatus.MISSING,
        "No post-session FEV1 or PEF with a matching pre-dose value.",
    )
