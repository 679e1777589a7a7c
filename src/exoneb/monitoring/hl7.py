"""HL7 v2 ORU^R01 from bedside monitors (IHE PCD-01), parsed from bytes; ACKs built as bytes.

``reference/interop.md`` §3.1: PCD-01 is an HL7 v2.6 ORU^R01 whose OBX-3 carries
an IEEE 11073-10101 (MDC) code ``code^MDC_REFID^MDC``, OBX-5 the value, OBX-6 the
MDC unit, OBX-11 the status (``X`` = could not be obtained), OBX-14 the time and
OBX-18 the device's EUI-64. The receiver answers each message with an ACK
(``MSA|AA|<MSH-10>``).

Pure code: bytes in, objects out, no sockets, no clock (``now`` is passed to
:func:`build_ack`). A message that cannot be parsed is never raised away:
:func:`parse_oru_r01` returns an :class:`Hl7Rejection` carrying the raw bytes and
the problems, from which :func:`build_ack` makes the AR/AE answer, and the
listener keeps the bytes for review.

ACK codes (original acknowledgment mode): ``AA`` accepted; ``AE`` application
error (a well-formed message whose content cannot be used: no patient
identifier, a value in the wrong unit, an unknown patient …); ``AR``
application reject (the message itself is unusable: not HL7, bad MSH or
encoding characters, not ORU^R01, unsupported version or processing id).
ERR segments use HL7 table 0357 error codes — [not in reference] interop.md
names only MSA; the codes are the HL7 v2.5+ table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from types import MappingProxyType

from exoneb.monitoring.observations import Observation, ObservationSource, require_aware

__all__ = [
    "MDC_CODES",
    "STANDARD_ENCODING",
    "AckCode",
    "DeviceReading",
    "EncodingCharacters",
    "Hl7Problem",
    "Hl7Rejection",
    "MdcMapping",
    "MessageHeader",
    "OruR01",
    "PatientIdentifier",
    "Segment",
    "VitalParameter",
    "build_ack",
    "escape",
    "parse_oru_r01",
    "split_segments",
    "to_observations",
    "unescape",
]


class AckCode(StrEnum):
    """MSA-1 acknowledgment code (original mode)."""

    AA = "AA"  # application accept
    AE = "AE"  # application error
    AR = "AR"  # application reject


# HL7 table 0357 (message error condition codes) [not in reference].
E_SEGMENT_SEQUENCE = 100
E_REQUIRED_FIELD = 101
E_DATA_TYPE = 102
E_TABLE_VALUE = 103
E_UNSUPPORTED_MESSAGE_TYPE = 200
E_UNSUPPORTED_EVENT = 201
E_UNSUPPORTED_PROCESSING_ID = 202
E_UNSUPPORTED_VERSION = 203
E_UNKNOWN_KEY = 204
E_DUPLICATE_KEY = 205
E_INTERNAL = 207

_ERROR_TEXT: Mapping[int, str] = MappingProxyType(
    {
        E_SEGMENT_SEQUENCE: "Segment sequence error",
        E_REQUIRED_FIELD: "Required field missing",
        E_DATA_TYPE: "Data type error",
        E_TABLE_VALUE: "Table value not found",
        E_UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
        E_UNSUPPORTED_EVENT: "Unsupported event code",
        E_UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
        E_UNSUPPORTED_VERSION: "Unsupported version id",
        E_UNKNOWN_KEY: "Unknown key identifier",
        E_DUPLICATE_KEY: "Duplicate key identifier",
        E_INTERNAL: "Application internal error",
    }
)


@dataclass(frozen=True, slots=True)
class Hl7Problem:
    """Something wrong with a message, located as in ERR-2 (segment^sequence^field).

    Attributes
    ----------
    code : int
        HL7 table 0357 error code (e.g. 101 required field missing).
    text : str
        What is wrong, for the reviewer and ERR-8 (ASCII).
    severity : str
        ``"E"`` error (makes the ACK AE) or ``"W"`` warning.
    segment : str
        Segment ID, e.g. ``"OBX"``; empty when not located.
    sequence : int
        1-based occurrence of that segment in the message (0 = not located).
    field_no : int
        Field position (0 = the whole segment).
    """

    code: int
    text: str
    severity: str = "E"
    segment: str = ""
    sequence: int = 0
    field_no: int = 0


@dataclass(frozen=True, slots=True)
class EncodingCharacters:
    """The delimiters a message declares in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str | None = None  # v2.7 adds a fifth character, usually '#'

    @property
    def msh2(self) -> str:
        """MSH-2 as it is written."""
        return (
            self.component
            + self.repetition
            + self.escape
            + self.subcomponent
            + (self.truncation or "")
        )


STANDARD_ENCODING = EncodingCharacters()
"""``|^~\\&``, used for every ACK exoneb sends."""


def _encoding_from(field_sep: str, msh2: str) -> EncodingCharacters | str:
    """The declared delimiters, or why they are unusable."""
    if len(msh2) not in (4, 5):
        return f"MSH-2 must have 4 or 5 encoding characters, got {len(msh2)}"
    chars = field_sep + msh2
    if len(set(chars)) != len(chars):
        return "MSH-1/MSH-2 delimiters are not all different"
    if any(c.isalnum() or c in "\r\n " for c in chars):
        return "MSH-1/MSH-2 delimiters must not be letters, digits, spaces or line breaks"
    return EncodingCharacters(
        field_sep, msh2[0], msh2[1], msh2[2], msh2[3], msh2[4] if len(msh2) == 5 else None
    )


class _EscapeError(ValueError):
    """An escape sequence that cannot be read."""


_FORMATTING = re.compile(r"^\.(sp|in|ti|sk|ce|fi|nf)[+-]?\d*$")


def unescape(
    value: str, enc: EncodingCharacters = STANDARD_ENCODING, charset: str = "utf-8"
) -> str:
    """Replace HL7 escape sequences in one (sub)component by the text they stand for.

    ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\`` (and ``\\P\\`` for the v2.7 truncation
    character) give back the delimiters; ``\\Xhh…\\`` hexadecimal data is decoded
    in the message's character set; ``\\.br\\`` is a line break; highlighting
    (``\\H\\``, ``\\N\\``) and other formatting commands are dropped. Locally
    defined (``\\Z…\\``) and character-set (``\\C…\\``, ``\\M…\\``) escapes are
    kept verbatim, since they cannot be interpreted here.

    Parameters
    ----------
    value : str
        Text as received, after splitting on the delimiters.
    enc : EncodingCharacters
        The message's delimiters.
    charset : str
        Python codec for ``\\X`` data.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        On an unterminated escape or malformed hexadecimal data.
    """
    esc = enc.escape
    if esc not in value:
        return value
    simple = {
        "F": enc.field,
        "S": enc.component,
        "T": enc.subcomponent,
        "R": enc.repetition,
        "E": enc.escape,
    }
    if enc.truncation:
        simple["P"] = enc.truncation
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch != esc:
            out.append(ch)
            i += 1
            continue
        end = value.find(esc, i + 1)
        if end < 0:
            raise _EscapeError(f"unterminated escape sequence in {value!r}")
        seq = value[i + 1 : end]
        if seq in simple:
            out.append(simple[seq])
        elif seq.startswith("X"):
            hexdata = seq[1:]
            try:
                out.append(bytes.fromhex(hexdata).decode(charset))
            except ValueError as exc:  # includes UnicodeDecodeError
                raise _EscapeError(f"bad hexadecimal escape \\{seq}\\") from exc
        elif seq == ".br":
            out.append("\n")
        elif seq in ("H", "N") or _FORMATTING.match(seq):
            pass
        else:
            out.append(value[i : end + 1])
        i = end + 1
    return "".join(out)


def escape(value: str, enc: EncodingCharacters = STANDARD_ENCODING) -> str:
    """Escape text so it can be placed in one HL7 component (the inverse of :func:`unescape`).

    Line breaks become ``\\.br\\``; other control characters are written as ``\\Xhh\\``.
    """
    table = {
        enc.escape: f"{enc.escape}E{enc.escape}",
        enc.field: f"{enc.escape}F{enc.escape}",
        enc.component: f"{enc.escape}S{enc.escape}",
        enc.subcomponent: f"{enc.escape}T{enc.escape}",
        enc.repetition: f"{enc.escape}R{enc.escape}",
        "\n": f"{enc.escape}.br{enc.escape}",
    }
    if enc.truncation:
        table[enc.truncation] = f"{enc.escape}P{enc.escape}"
    out: list[str] = []
    for ch in value.replace("\r\n", "\n"):
        if ch in table:
            out.append(table[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"{enc.escape}X{ord(ch):02X}{enc.escape}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment, fields kept as received (still escaped).

    ``field(n)`` follows HL7 numbering: for MSH, field 1 is the field separator
    and field 2 the encoding characters.
    """

    name: str
    fields: tuple[str, ...]  # fields[0] is the segment name
    sequence: int  # 1-based occurrence of this segment name in the message

    def field(self, n: int) -> str:
        """Raw field ``n`` (``""`` when absent)."""
        return self.fields[n] if 0 < n < len(self.fields) else ""


def split_segments(text: str) -> list[str]:
    """Split a message into segment strings.

    HL7 separates segments with CR; LF and CR LF are accepted too because many
    senders and test tools use them, and neither may appear unescaped in content.
    """
    return [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s]


class _Reject(Exception):
    def __init__(self, problem: Hl7Problem) -> None:
        super().__init__(problem.text)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """The MSH fields the listener and the ACK need, unescaped."""

    encoding: EncodingCharacters
    sending_application: str  # MSH-3 as received (still escaped, components joined)
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


class VitalParameter(StrEnum):
    """Vital signs exoneb maps from MDC codes."""

    SPO2 = "spo2"
    PULSE_RATE = "pulse_rate"
    HEART_RATE = "heart_rate"
    TEMPERATURE = "temperature"
    NIBP_SYSTOLIC = "nibp_systolic"
    NIBP_DIASTOLIC = "nibp_diastolic"
    NIBP_MEAN = "nibp_mean"


@dataclass(frozen=True, slots=True)
class MdcMapping:
    """An IEEE 11073-10101 metric with its expected unit (interop.md §3.1 table)."""

    code: int
    refid: str
    parameter: VitalParameter
    unit_code: int
    unit_refid: str
    ucum: str
    loinc: str
    measure: str | None  # the Observation field it feeds, None if none


MDC_CODES: Mapping[int, MdcMapping] = MappingProxyType(
    {
        m.code: m
        for m in (
            MdcMapping(
                150456,
                "MDC_PULS_OXIM_SAT_O2",
                VitalParameter.SPO2,
                262688,
                "MDC_DIM_PERCENT",
                "%",
                "59408-5",
                "spo2_pct",
            ),
            MdcMapping(
                149530,
                "MDC_PULS_OXIM_PULS_RATE",
                VitalParameter.PULSE_RATE,
                264864,
                "MDC_DIM_BEAT_PER_MIN",
                "/min",
                "8867-4",
                "heart_rate_per_min",
            ),
            MdcMapping(
                147842,
                "MDC_ECG_HEART_RATE",
                VitalParameter.HEART_RATE,
                264864,
                "MDC_DIM_BEAT_PER_MIN",
                "/min",
                "8867-4",
                "heart_rate_per_min",
            ),
            MdcMapping(
                150364,
                "MDC_TEMP_BODY",
                VitalParameter.TEMPERATURE,
                268192,
                "MDC_DIM_DEGC",
                "Cel",
                "8310-5",
                "temperature_c",
            ),
            MdcMapping(
                150021,
                "MDC_PRESS_BLD_NONINV_SYS",
                VitalParameter.NIBP_SYSTOLIC,
                266016,
                "MDC_DIM_MMHG",
                "mm[Hg]",
                "8480-6",
                "sbp_mmhg",
            ),
            MdcMapping(
                150022,
                "MDC_PRESS_BLD_NONINV_DIA",
                VitalParameter.NIBP_DIASTOLIC,
                266016,
                "MDC_DIM_MMHG",
                "mm[Hg]",
                "8462-4",
                "dbp_mmhg",
            ),
            MdcMapping(
                150023,
                "MDC_PRESS_BLD_NONINV_MEAN",
                VitalParameter.NIBP_MEAN,
                266016,
                "MDC_DIM_MMHG",
                "mm[Hg]",
                "",
                None,
            ),
        )
    }
)
"""MDC code → mapping, from interop.md §3.1 (SpO2 150456 = 2·65536 + 19384, etc.)."""

_BY_REFID: Mapping[str, MdcMapping] = MappingProxyType({m.refid: m for m in MDC_CODES.values()})

# Plausible ranges for device values (beyond them the value is an error, not physiology).
_PLAUSIBLE: Mapping[VitalParameter, tuple[float, float]] = MappingProxyType(
    {
        VitalParameter.SPO2: (0.0, 100.0),
        VitalParameter.PULSE_RATE: (0.0, 350.0),
        VitalParameter.HEART_RATE: (0.0, 350.0),
        VitalParameter.TEMPERATURE: (25.0, 45.0),
        VitalParameter.NIBP_SYSTOLIC: (0.0, 350.0),
        VitalParameter.NIBP_DIASTOLIC: (0.0, 250.0),
        VitalParameter.NIBP_MEAN: (0.0, 300.0),
    }
)

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


_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$")


def _parse_dtm(text: str, default_tz: tzinfo | None) -> datetime:
    """HL7 DTM ``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`` → aware datetime."""
    m = _DTM.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not an HL7 date/time")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    if offset:
        sign = 1 if offset[0] == "+" else -1
        tz: tzinfo = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    elif default_tz is not None:
        tz = default_tz
    else:
        raise ValueError(f"'{text}' has no UTC offset and no site time zone was given")
    micro = int((frac or "0").ljust(6, "0")[:6])
    return datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=tz,
    )


_CHARSETS: Mapping[str, str] = MappingProxyType(
    {"": "utf-8", "ASCII": "ascii", "8859/1": "latin-1", "UNICODE UTF-8": "utf-8"}
)


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
    codec = _CHARSETS.get(charset.upper())
    if codec is None:
        raise _Reject(
            Hl7Problem(
                E_TABLE_VALUE, f"Unsupported character set '{charset}' in MSH-18", "E", "MSH", 1, 18
            )
        )
    try:
        return raw.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise _Reject(
            Hl7Problem(
                E_DATA_TYPE, f"Message is not valid {codec}: {exc.reason}", "E", "MSH", 1, 18
            )
        ) from exc


def _segments(text: str) -> tuple[list[Segment], EncodingCharacters]:
    lines = split_segments(text)
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise _Reject(
            Hl7Problem(
                E_SEGMENT_SEQUENCE, "Message does not start with an MSH segment", "E", "MSH", 1, 0
            )
        )
    msh = lines[0]
    sep = msh[3]
    parts = msh.split(sep)
    enc = _encoding_from(sep, parts[1] if len(parts) > 1 else "")
    if isinstance(enc, str):
        raise _Reject(Hl7Problem(E_DATA_TYPE, enc, "E", "MSH", 1, 2))
    counts: dict[str, int] = {}
    segments: list[Segment] = []
    for i, line in enumerate(lines):
        parts = line.split(sep)
        name = parts[0]
        if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", name):
            raise _Reject(
                Hl7Problem(
                    E_SEGMENT_SEQUENCE, f"Segment {i + 1} has no valid segment ID", "E", "", 0, 0
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
            when = _parse_dtm(f.component(msh.field(7), 1), default_tz)
        except ValueError as exc:
            problems.append(Hl7Problem(E_DATA_TYPE, f"MSH-7: {exc}", "W", "MSH", 1, 7))
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
        reject(E_REQUIRED_FIELD, "MSH-10 message control ID is empty", 10)
    if h.message_type != "ORU":
        reject(E_UNSUPPORTED_MESSAGE_TYPE, f"Message type '{h.message_type}' is not ORU", 9)
    if h.trigger_event != "R01":
        reject(E_UNSUPPORTED_EVENT, f"Trigger event '{h.trigger_event}' is not R01", 9)
    if h.processing_id not in ("P", "D", "T"):
        reject(
            E_UNSUPPORTED_PROCESSING_ID, f"Processing ID '{h.processing_id}' is not P, D or T", 11
        )
    if not re.fullmatch(r"2\.\d+(\.\d+)?", h.version):
        reject(E_UNSUPPORTED_VERSION, f"Version '{h.version}' is not HL7 v2.x", 12)


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
    if mapping is None and refid in _BY_REFID:
        mapping = _BY_REFID[refid]
    value_type = f.component(obx.field(2), 1)
    raw_value = f.text(obx.field(5))
    status = f.component(obx.field(11), 1)
    if mapping is not None and value_type not in ("NM", ""):
        mapping = None  # e.g. an NA waveform under the SpO2 code: kept, not a numeric
    observed_at = fallback_time
    if obx.field(14):
        try:
            observed_at = _parse_dtm(f.component(obx.field(14), 1), default_tz)
        except ValueError as exc:
            observed_at = None
            if mapping is not None:
                problem(E_DATA_TYPE, f"OBX-14: {exc}", 14)
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
            problem(E_DATA_TYPE, f"OBX-5 '{raw_value}' is not a number", 5)
        unit = f.components(obx.field(6))
        unit_code, unit_ref = unit[0], (unit[1] if len(unit) > 1 else "")
        if not unit_code and not unit_ref:
            valid = False
            problem(E_REQUIRED_FIELD, f"OBX-6 unit is missing for {mapping.refid}", 6)
        elif (
            unit_code not in (str(mapping.unit_code), mapping.ucum)
            and unit_ref != mapping.unit_refid
        ):
            valid = False
            problem(
                E_TABLE_VALUE,
                f"OBX-6 unit '{f.text(obx.field(6))}' is not {mapping.unit_refid} for "
                f"{mapping.refid}",
                6,
            )
        low, high = _PLAUSIBLE[mapping.parameter]
        if value is not None and not low <= value <= high:
            valid = False
            problem(
                E_DATA_TYPE, f"OBX-5 {value:g} is outside {low:g}-{high:g} for {mapping.refid}", 5
            )
        if observed_at is None:
            valid = False
            if not obx.field(14):
                problem(E_REQUIRED_FIELD, "No observation time (OBX-14, OBR-7 or MSH-7)", 14)
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
            problems.append(Hl7Problem(E_REQUIRED_FIELD, "No PID segment", "E", "PID", 1, 0))
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
                        E_REQUIRED_FIELD, "PID-3 patient identifier is empty", "E", "PID", 1, 3
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
                        obr_time = _parse_dtm(f.component(seg.field(7), 1), default_tz)
                    except ValueError as exc:
                        problems.append(
                            Hl7Problem(E_DATA_TYPE, f"OBR-7: {exc}", "W", "OBR", seg.sequence, 7)
                        )
            elif seg.name == "OBX":
                if not seen_obr:
                    problems.append(
                        Hl7Problem(
                            E_SEGMENT_SEQUENCE, "OBX before any OBR", "E", "OBX", seg.sequence, 0
                        )
                    )
                readings.append(_reading(seg, f, obr_time, default_tz, problems))
        if not seen_obr:
            problems.append(Hl7Problem(E_REQUIRED_FIELD, "No OBR segment", "E", "OBR", 1, 0))
    except _Reject as rej:
        return Hl7Rejection(
            raw, AckCode.AR, (*problems, rej.problem), header, _guess_control_id(raw, header)
        )
    except ValueError as exc:  # an unreadable escape sequence: the message cannot be trusted
        return Hl7Rejection(
            raw,
            AckCode.AE,
            (*problems, Hl7Problem(E_DATA_TYPE, str(exc))),
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


def _reencode(raw: str, src: EncodingCharacters, charset: str) -> str:
    """Re-write a raw field from the sender's delimiters into the standard ones."""
    if src == STANDARD_ENCODING:
        return raw
    dst = STANDARD_ENCODING
    return dst.repetition.join(
        dst.component.join(
            dst.subcomponent.join(
                escape(unescape(sub, src, charset), dst) for sub in comp.split(src.subcomponent)
            )
            for comp in rep.split(src.component)
        )
        for rep in raw.split(src.repetition)
    )


def _dtm(now: datetime) -> str:
    off = now.utcoffset() or timedelta(0)
    sign = "+" if off >= timedelta(0) else "-"
    minutes = abs(int(off.total_seconds())) // 60
    return now.strftime("%Y%m%d%H%M%S") + f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def build_ack(
    message: OruR01 | Hl7Rejection,
    *,
    now: datetime,
    control_id: str,
    code: AckCode | None = None,
    extra_problems: Sequence[Hl7Problem] = (),
    application: str = "EXONEB",
    facility: str = "",
) -> bytes:
    """Build the HL7 ACK for a received message.

    Parameters
    ----------
    message : OruR01 or Hl7Rejection
        What :func:`parse_oru_r01` returned.
    now : datetime
        ACK time (MSH-7), timezone-aware.
    control_id : str
        This ACK's own MSH-10 (the caller makes it unique).
    code : AckCode, optional
        Overrides the code derived from the problems (e.g. ``AA`` for a duplicate
        that was already stored).
    extra_problems : sequence of Hl7Problem
        Problems found after parsing, e.g. an unknown patient (code 204); an
        error among them makes the ACK at least AE.
    application, facility : str
        exoneb's MSH-3 and MSH-4.

    Returns
    -------
    bytes
        MSH, MSA (MSA-1 code, MSA-2 = the original MSH-10) and one ERR segment
        per problem, CR-separated, UTF-8, ready for :func:`~exoneb.monitoring.mllp.encode_frame`.
    """
    require_aware(now, "now")
    enc = STANDARD_ENCODING
    problems = (*message.problems, *extra_problems)
    if code is None:
        code = message.ack_code
        if code is AckCode.AA and any(p.severity == "E" for p in extra_problems):
            code = AckCode.AE
    h = message.header
    if h is not None:
        charset = _CHARSETS.get(h.charset.upper(), "utf-8")
        to_app = _reencode(h.sending_application, h.encoding, charset)
        to_fac = _reencode(h.sending_facility, h.encoding, charset)
        version = h.version if re.fullmatch(r"2\.\d+(\.\d+)?", h.version) else "2.6"
        processing = h.processing_id if h.processing_id in ("P", "D", "T") else "P"
        original_id = escape(h.control_id, enc)
    else:
        to_app = to_fac = ""
        original_id = escape(getattr(message, "control_id", ""), enc)
        version, processing = "2.6", "P"
    msh = "|".join(
        [
            "MSH",
            enc.msh2,
            escape(application, enc),
            escape(facility, enc),
            to_app,
            to_fac,
            _dtm(now),
            "",
            "ACK^R01^ACK",
            escape(control_id, enc),
            processing,
            version,
        ]
    )
    segments = [msh, f"MSA|{code.value}|{original_id}"]
    for p in problems:
        location = "^".join(
            [
                p.segment,
                str(p.sequence) if p.sequence else "",
                str(p.field_no) if p.field_no else "",
            ]
        ).rstrip("^")
        segments.append(
            "|".join(
                [
                    "ERR",
                    "",
                    location,
                    f"{p.code}^{escape(_ERROR_TEXT.get(p.code, ''), enc)}^HL70357",
                    p.severity,
                    "",
                    "",
                    "",
                    escape(p.text, enc),
                ]
            )
        )
    text = "\r".join(segments) + "\r"
    if not text.isascii():
        # Declare UTF-8 in MSH-18 when any text is not plain ASCII.
        first, rest = text.split("\r", 1)
        text = first + "||||||UNICODE UTF-8" + "\r" + rest
    return text.encode("utf-8")
