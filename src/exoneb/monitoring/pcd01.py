"""IHE PCD-01: HL7 v2 ORU^R01 from bedside monitors, parsed from bytes into readings.

``reference/interop.md`` §3.1: PCD-01 is an HL7 v2.6 ORU^R01 whose OBX-3 carries
an IEEE 11073-10101 (MDC) code ``code^MDC_REFID^MDC``, OBX-5 the value, OBX-6 the
MDC unit, OBX-11 the status (``X`` = could not be obtained), OBX-14 the time and
OBX-18 the device's EUI-64.

Pure code: bytes in, objects out. A message that cannot be parsed is never
raised away: :func:`parse_oru_r01` returns an :class:`Hl7Rejection` carrying the
raw bytes and the problems, from which :func:`~exoneb.monitoring.ack.build_ack`
makes the AR/AE answer, and the listener keeps the bytes for review. A parsed
message with content errors (an :class:`OruR01` with problems) keeps its usable
readings and is answered AE.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from exoneb.monitoring.hl7 import (
    CHARSETS,
    AckCode,
    EncodingCharacters,
    ErrorCode,
    Hl7Problem,
    Segment,
    encoding_from,
    parse_dtm,
    split_segments,
    unescape,
)
from exoneb.monitoring.mdc import (
    MDC_BY_REFID,
    MDC_CODES,
    PLAUSIBLE_RANGES,
    MdcMapping,
    VitalParameter,
)
from exoneb.monitoring.observations import Observation, ObservationSource

__all__ = [
    "DeviceReading",
    "Hl7Rejection",
    "MessageHeader",
    "OruR01",
    "PatientIdentifier",
    "parse_oru_r01",
    "to_observations",
]


class _Reject(Exception):
    """Raised inside the parser when the message as a whole is unusable (→ AR)."""

    def __init__(self, problem: Hl7Problem) -> None:
        super().__init__(problem.text)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """The MSH fields the listener and the ACK need.

    MSH-3 to MSH-6 are kept as received (still escaped, in the sender's
    delimiters) so that the ACK can re-encode them exactly; the others are unescaped.
    """

    encoding: EncodingCharacters
    sending_application: str  # MSH-3, raw
    sending_facility: str  # MSH-4, raw
    receiving_application: str  # MSH-5, raw
    receiving_facility: str  # MSH-6, raw
    message_time: datetime | None  # MSH-7
    message_type: str  # MSH-9.1
    trigger_event: str  # MSH-9.2
    control_id: str  # MSH-10
    processing_id: str  # MSH-11.1
    version: str  # MSH-12.1
    charset: str  # MSH-18 as declared ("" = default)


@dataclass(frozen=True, slots=True)
class PatientIdentifier:
    """One PID-3 repetition (CX): ID, assigning authority, identifier type."""

    id: str
    assigning_authority: str = ""
    type_code: str = ""


_INVALID_STATUS = frozenset({"X", "W", "D", "N", "I"})  # not obtainable, wrong, deleted, …


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """One OBX, mapped when its code is known; unmapped OBXs are kept too.

    Attributes
    ----------
    set_id, sub_id : str
        OBX-1 and OBX-4 (the containment path, e.g. ``1.1.1.1``).
    identifier : str
        OBX-3 as received (unescaped, components joined by ``^``).
    mapping : MdcMapping or None
        The known metric, or ``None`` for MDS/VMD/channel headers, vendor codes
        and non-numeric metrics.
    value : float or None
        OBX-5 as a number for a mapped metric; ``None`` when empty, invalid or unmapped.
    raw_value : str
        OBX-5 as received (unescaped).
    unit : str
        The UCUM unit of ``value`` (from the mapping; empty when unmapped).
    status : str
        OBX-11.
    valid : bool
        The value can be used (mapped, numeric, right unit, status not X/W/D/N/I).
    observed_at : datetime or None
        OBX-14, else OBR-7, else MSH-7.
    equipment_id : str
        OBX-18 first component (EUI-64 for PCD devices).
    """

    set_id: str
    sub_id: str
    identifier: str
    mapping: MdcMapping | None
    value: float | None
    raw_value: str
    unit: str
    status: str
    valid: bool
    observed_at: datetime | None
    equipment_id: str


@dataclass(frozen=True, slots=True)
class OruR01:
    """A parsed ORU^R01: header, patient, readings, and any problems found.

    ``ack_code`` is AE when any problem is an error (the usable readings are
    still here, and the raw bytes are kept for review), else AA.
    """

    raw: bytes
    header: MessageHeader
    patient_ids: tuple[PatientIdentifier, ...]
    patient_name: str
    readings: tuple[DeviceReading, ...]
    problems: tuple[Hl7Problem, ...]

    @property
    def ack_code(self) -> AckCode:
        """AE when any problem is an error, else AA."""
        return AckCode.AE if any(p.severity == "E" for p in self.problems) else AckCode.AA


@dataclass(frozen=True, slots=True)
class Hl7Rejection:
    """A message that could not be parsed or used: the raw bytes and why.

    ``header`` is present when MSH could be read (so the ACK can name the
    control id and address the sender); ``ack_code`` is AR or AE.
    """

    raw: bytes
    ack_code: AckCode
    problems: tuple[Hl7Problem, ...]
    header: MessageHeader | None = None
    control_id: str = ""  # MSH-10, best effort even when MSH could not be parsed

    @property
    def reason(self) -> str:
        """The problems in one sentence."""
        return "; ".join(p.text for p in self.problems)


class _Parsed:
    """Field helpers bound to one message's delimiters and character set."""

    def __init__(self, enc: EncodingCharacters, charset: str) -> None:
        self.enc = enc
        self.charset = charset

    def components(self, raw: str) -> list[str]:
        """First repetition of a field, split into unescaped components."""
        first = raw.split(self.enc.repetition)[0]
        return [unescape(c, self.enc, self.charset) for c in first.split(self.enc.component)]

    def component(self, raw: str, n: int) -> str:
        comps = self.components(raw)
        return comps[n - 1] if 0 < n <= len(comps) else ""

    def text(self, raw: str) -> str:
        """A field as readable text: unescaped components joined by '^'."""
        return "^".join(self.components(raw)).rstrip("^")


def _decode(raw: bytes) -> tuple[str, str]:
    """Decode the bytes in the character set MSH-18 declares."""
    head = raw.split(b"\r", 1)[0].split(b"\n", 1)[0].decode("latin-1")
    charset = ""
    if head.startswith("MSH") and len(head) > 3:
        fields = head.split(head[3])
        charset = fields[17].split("^")[0].strip() if len(fields) > 17 else ""
    codec = CHARSETS.get(charset.upper())
    if codec is None:
        raise _Reject(
            Hl7Problem(
                ErrorCode.TABLE_VALUE,
                f"Unsupported character set '{charset}' in MSH-18",
                "E",
                "MSH",
                1,
                18,
            )
        )
    try:
        return raw.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise _Reject(
            Hl7Problem(
                ErrorCode.DATA_TYPE,
                f"Message is not valid {codec}: {exc.reason}",
                "E",
                "MSH",
                1,
                18,
            )
        ) from exc


def _segments(text: str) -> tuple[list[Segment], EncodingCharacters]:
    lines = split_segments(text)
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise _Reject(
            Hl7Problem(
                ErrorCode.SEGMENT_SEQUENCE,
                "Message does not start with an MSH segment",
                "E",
                "MSH",
                1,
                0,
            )
        )
    msh = lines[0]
    sep = msh[3]
    parts = msh.split(sep)
    enc = encoding_from(sep, parts[1] if len(parts) > 1 else "")
    if isinstance(enc, str):
        raise _Reject(Hl7Problem(ErrorCode.DATA_TYPE, enc, "E", "MSH", 1, 2))
    counts: dict[str, int] = {}
    segments: list[Segment] = []
    for i, line in enumerate(lines):
        parts = line.split(sep)
        name = parts[0]
        if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", name):
            raise _Reject(
                Hl7Problem(
                    ErrorCode.SEGMENT_SEQUENCE,
                    f"Segment {i + 1} has no valid segment ID",
                    "E",
                    "",
                    0,
                    0,
                )
            )
        counts[name] = counts.get(name, 0) + 1
        fields = (name, sep, *parts[1:]) if name == "MSH" and i == 0 else tuple(parts)
        segments.append(Segment(name, fields, counts[name]))
    return segments, enc


def _header(
    msh: Segment,
    enc: EncodingCharacters,
    charset: str,
    default_tz: tzinfo | None,
    problems: list[Hl7Problem],
) -> MessageHeader:
    f = _Parsed(enc, charset)
    when: datetime | None = None
    if msh.field(7):
        try:
            when = parse_dtm(f.component(msh.field(7), 1), default_tz)
        except ValueError as exc:
            problems.append(Hl7Problem(ErrorCode.DATA_TYPE, f"MSH-7: {exc}", "W", "MSH", 1, 7))
    return MessageHeader(
        encoding=enc,
        sending_application=msh.field(3),
        sending_facility=msh.field(4),
        receiving_application=msh.field(5),
        receiving_facility=msh.field(6),
        message_time=when,
        message_type=f.component(msh.field(9), 1),
        trigger_event=f.component(msh.field(9), 2),
        control_id=f.component(msh.field(10), 1),
        processing_id=f.component(msh.field(11), 1),
        version=f.component(msh.field(12), 1),
        charset=f.component(msh.field(18), 1),
    )


def _check_header(h: MessageHeader) -> None:
    def reject(code: int, text: str, field_no: int) -> None:
        raise _Reject(Hl7Problem(code, text, "E", "MSH", 1, field_no))

    if not h.control_id:
        reject(ErrorCode.REQUIRED_FIELD, "MSH-10 message control ID is empty", 10)
    if h.message_type != "ORU":
        reject(ErrorCode.UNSUPPORTED_MESSAGE_TYPE, f"Message type '{h.message_type}' is not ORU", 9)
    if h.trigger_event != "R01":
        reject(ErrorCode.UNSUPPORTED_EVENT, f"Trigger event '{h.trigger_event}' is not R01", 9)
    if h.processing_id not in ("P", "D", "T"):
        reject(
            ErrorCode.UNSUPPORTED_PROCESSING_ID,
            f"Processing ID '{h.processing_id}' is not P, D or T",
            11,
        )
    if not re.fullmatch(r"2\.\d+(\.\d+)?", h.version):
        reject(ErrorCode.UNSUPPORTED_VERSION, f"Version '{h.version}' is not HL7 v2.x", 12)


def _reading(
    obx: Segment,
    f: _Parsed,
    fallback_time: datetime | None,
    default_tz: tzinfo | None,
    problems: list[Hl7Problem],
) -> DeviceReading:
    seq = obx.sequence

    def problem(code: int, text: str, field_no: int) -> None:
        problems.append(Hl7Problem(code, text, "E", "OBX", seq, field_no))

    ident = f.components(obx.field(3))
    code_text = ident[0] if ident else ""
    refid = ident[1] if len(ident) > 1 else ""
    mapping = MDC_CODES.get(int(code_text)) if code_text.isdigit() else None
    if mapping is None and refid in MDC_BY_REFID:
        mapping = MDC_BY_REFID[refid]
    value_type = f.component(obx.field(2), 1)
    raw_value = f.text(obx.field(5))
    status = f.component(obx.field(11), 1)
    if mapping is not None and value_type not in ("NM", ""):
        mapping = None  # e.g. an NA waveform under the SpO2 code: kept, not a numeric
    observed_at = fallback_time
    if obx.field(14):
        try:
            observed_at = parse_dtm(f.component(obx.field(14), 1), default_tz)
        except ValueError as exc:
            observed_at = None
            if mapping is not None:
                problem(ErrorCode.DATA_TYPE, f"OBX-14: {exc}", 14)
    value: float | None = None
    valid = False
    if mapping is not None and raw_value and status not in _INVALID_STATUS:
        valid = True
        try:
            value = float(raw_value)
            if not math.isfinite(value):
                raise ValueError(raw_value)
        except ValueError:
            value, valid = None, False
            problem(ErrorCode.DATA_TYPE, f"OBX-5 '{raw_value}' is not a number", 5)
        unit = f.components(obx.field(6))
        unit_code, unit_ref = unit[0], (unit[1] if len(unit) > 1 else "")
        if not unit_code and not unit_ref:
            valid = False
            problem(ErrorCode.REQUIRED_FIELD, f"OBX-6 unit is missing for {mapping.refid}", 6)
        elif (
            unit_code not in (str(mapping.unit_code), mapping.ucum)
            and unit_ref != mapping.unit_refid
        ):
            valid = False
            problem(
                ErrorCode.TABLE_VALUE,
                f"OBX-6 unit '{f.text(obx.field(6))}' is not {mapping.unit_refid} for "
                f"{mapping.refid}",
                6,
            )
        low, high = PLAUSIBLE_RANGES[mapping.parameter]
        if value is not None and not low <= value <= high:
            valid = False
            problem(
                ErrorCode.DATA_TYPE,
                f"OBX-5 {value:g} is outside {low:g}-{high:g} for {mapping.refid}",
                5,
            )
        if observed_at is None:
            valid = False
            if not obx.field(14):
                problem(
                    ErrorCode.REQUIRED_FIELD, "No observation time (OBX-14, OBR-7 or MSH-7)", 14
                )
    return DeviceReading(
        set_id=f.component(obx.field(1), 1),
        sub_id=f.component(obx.field(4), 1),
        identifier=f.text(obx.field(3)),
        mapping=mapping,
        value=value if valid else None,
        raw_value=raw_value,
        unit=mapping.ucum if mapping is not None else "",
        status=status,
        valid=valid,
        observed_at=observed_at,
        equipment_id=f.component(obx.field(18), 1),
    )


def _guess_control_id(raw: bytes, header: MessageHeader | None) -> str:
    """MSH-10 for MSA-2, read as plainly as possible when MSH itself is faulty."""
    if header is not None:
        return header.control_id
    first = raw.split(b"\r", 1)[0].split(b"\n", 1)[0].decode("latin-1")
    if not first.startswith("MSH") or len(first) < 4:
        return ""
    parts = first.split(first[3])
    return parts[9].split("^")[0].strip() if len(parts) > 9 else ""


def parse_oru_r01(raw: bytes, *, default_tz: tzinfo | None = None) -> OruR01 | Hl7Rejection:
    """Parse one HL7 v2 ORU^R01 (IHE PCD-01) message.

    Parameters
    ----------
    raw : bytes
        The MLLP payload, exactly as received.
    default_tz : tzinfo, optional
        The site's time zone, for timestamps sent without a UTC offset. Without
        it such timestamps are errors: guessing UTC could shift a reading by hours.

    Returns
    -------
    OruR01 or Hl7Rejection
        Never raises for bad input: a message that cannot be used comes back as
        an :class:`Hl7Rejection` with the raw bytes and the problems.
    """
    header: MessageHeader | None = None
    problems: list[Hl7Problem] = []
    try:
        text, charset = _decode(raw)
        segments, enc = _segments(text)
        header = _header(segments[0], enc, charset, default_tz, problems)
        _check_header(header)
        f = _Parsed(enc, charset)
        pids = [s for s in segments if s.name == "PID"]
        patient_ids: list[PatientIdentifier] = []
        name = ""
        if not pids:
            problems.append(
                Hl7Problem(ErrorCode.REQUIRED_FIELD, "No PID segment", "E", "PID", 1, 0)
            )
        else:
            pid = pids[0]
            for rep in pid.field(3).split(enc.repetition):
                comps = [unescape(c, enc, charset) for c in rep.split(enc.component)]
                if comps and comps[0].strip():
                    patient_ids.append(
                        PatientIdentifier(
                            comps[0].strip(),
                            comps[3].split(enc.subcomponent)[0] if len(comps) > 3 else "",
                            comps[4] if len(comps) > 4 else "",
                        )
                    )
            if not patient_ids:
                problems.append(
                    Hl7Problem(
                        ErrorCode.REQUIRED_FIELD,
                        "PID-3 patient identifier is empty",
                        "E",
                        "PID",
                        1,
                        3,
                    )
                )
            name = f.text(pid.field(5))
        readings: list[DeviceReading] = []
        obr_time = header.message_time
        seen_obr = False
        for seg in segments[1:]:
            if seg.name == "OBR":
                seen_obr = True
                obr_time = header.message_time
                if seg.field(7):
                    try:
                        obr_time = parse_dtm(f.component(seg.field(7), 1), default_tz)
                    except ValueError as exc:
                        problems.append(
                            Hl7Problem(
                                ErrorCode.DATA_TYPE, f"OBR-7: {exc}", "W", "OBR", seg.sequence, 7
                            )
                        )
            elif seg.name == "OBX":
                if not seen_obr:
                    problems.append(
                        Hl7Problem(
                            ErrorCode.SEGMENT_SEQUENCE,
                            "OBX before any OBR",
                            "E",
                            "OBX",
                            seg.sequence,
                            0,
                        )
                    )
                readings.append(_reading(seg, f, obr_time, default_tz, problems))
        if not seen_obr:
            problems.append(
                Hl7Problem(ErrorCode.REQUIRED_FIELD, "No OBR segment", "E", "OBR", 1, 0)
            )
    except _Reject as rej:
        return Hl7Rejection(
            raw, AckCode.AR, (*problems, rej.problem), header, _guess_control_id(raw, header)
        )
    except ValueError as exc:  # an unreadable escape sequence: the message cannot be trusted
        return Hl7Rejection(
            raw,
            AckCode.AE,
            (*problems, Hl7Problem(ErrorCode.DATA_TYPE, str(exc))),
            header,
            _guess_control_id(raw, header),
        )
    return OruR01(raw, header, tuple(patient_ids), name, tuple(readings), tuple(problems))


def to_observations(message: OruR01) -> tuple[Observation, ...]:
    """Turn the valid mapped readings into device :class:`Observation`\\ s, one per time.

    Readings at the same time are merged. When both an ECG heart rate and an
    oximeter pulse rate are present, the ECG heart rate is used (it does not
    depend on the oximeter's perfusion signal); the pulse rate remains in the
    message readings.
    """
    by_time: dict[datetime, dict[str, float]] = {}
    priority: dict[tuple[datetime, str], int] = {}
    for r in message.readings:
        if not (r.valid and r.mapping and r.mapping.measure and r.value is not None):
            continue
        assert r.observed_at is not None
        rank = 1 if r.mapping.parameter is VitalParameter.HEART_RATE else 0
        key = (r.observed_at, r.mapping.measure)
        if key in priority and priority[key] > rank:
            continue
        priority[key] = rank
        by_time.setdefault(r.observed_at, {})[r.mapping.measure] = r.value
    return tuple(
        Observation(at=at, source=ObservationSource.DEVICE, **values)  # type: ignore[arg-type]
        for at, values in sorted(by_time.items())
    )
