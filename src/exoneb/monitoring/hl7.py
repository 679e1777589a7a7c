"""HL7 v2 syntax: delimiters, escape sequences, segments, date/times, error codes.

The building blocks shared by the ORU^R01 parser (:mod:`~exoneb.monitoring.pcd01`)
and the ACK builder (:mod:`~exoneb.monitoring.ack`). The delimiters are read
from each message's MSH-1 and MSH-2, never assumed; escape sequences follow HL7
v2 §2.7. ERR segments use HL7 table 0357 error codes — [not in reference]:
``reference/interop.md`` §3.1 names only MSA; the codes are the HL7 v2.5+ table.

ACK codes (original acknowledgment mode): ``AA`` accepted; ``AE`` application
error (a well-formed message whose content cannot be used: no patient
identifier, a value in the wrong unit, an unknown patient …); ``AR``
application reject (the message itself is unusable: not HL7, bad MSH or
encoding characters, not ORU^R01, unsupported version or processing id).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from enum import IntEnum, StrEnum
from types import MappingProxyType

__all__ = [
    "CHARSETS",
    "ERROR_TEXT",
    "STANDARD_ENCODING",
    "AckCode",
    "EncodingCharacters",
    "ErrorCode",
    "Hl7Problem",
    "Segment",
    "encoding_from",
    "escape",
    "format_dtm",
    "parse_dtm",
    "split_segments",
    "unescape",
]


class AckCode(StrEnum):
    """MSA-1 acknowledgment code (original mode)."""

    AA = "AA"  # application accept
    AE = "AE"  # application error
    AR = "AR"  # application reject


class ErrorCode(IntEnum):
    """HL7 table 0357 message error condition codes, for ERR-3 [not in reference]."""

    SEGMENT_SEQUENCE = 100
    REQUIRED_FIELD = 101
    DATA_TYPE = 102
    TABLE_VALUE = 103
    UNSUPPORTED_MESSAGE_TYPE = 200
    UNSUPPORTED_EVENT = 201
    UNSUPPORTED_PROCESSING_ID = 202
    UNSUPPORTED_VERSION = 203
    UNKNOWN_KEY = 204  # e.g. a patient identifier no monitored session matches
    DUPLICATE_KEY = 205  # e.g. a message control id already received
    INTERNAL = 207

    @property
    def text(self) -> str:
        """The table's wording, e.g. "Required field missing"."""
        return ERROR_TEXT[self]


ERROR_TEXT: Mapping[int, str] = MappingProxyType(
    {
        ErrorCode.SEGMENT_SEQUENCE: "Segment sequence error",
        ErrorCode.REQUIRED_FIELD: "Required field missing",
        ErrorCode.DATA_TYPE: "Data type error",
        ErrorCode.TABLE_VALUE: "Table value not found",
        ErrorCode.UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
        ErrorCode.UNSUPPORTED_EVENT: "Unsupported event code",
        ErrorCode.UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
        ErrorCode.UNSUPPORTED_VERSION: "Unsupported version id",
        ErrorCode.UNKNOWN_KEY: "Unknown key identifier",
        ErrorCode.DUPLICATE_KEY: "Duplicate key identifier",
        ErrorCode.INTERNAL: "Application internal error",
    }
)
"""HL7 table 0357 wording of each error code."""


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


def encoding_from(field_sep: str, msh2: str) -> EncodingCharacters | str:
    """The delimiters declared by MSH-1 and MSH-2, or a sentence saying why they are unusable."""
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


_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$")


def parse_dtm(text: str, default_tz: tzinfo | None) -> datetime:
    """Parse an HL7 DTM ``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`` into an aware datetime.

    A time without a UTC offset takes ``default_tz`` (the site's zone); without
    one it is refused, because guessing UTC could shift a reading by hours.
    """
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


def format_dtm(now: datetime) -> str:
    """Format an aware datetime as HL7 DTM to the second, with its UTC offset."""
    off = now.utcoffset() or timedelta(0)
    sign = "+" if off >= timedelta(0) else "-"
    minutes = abs(int(off.total_seconds())) // 60
    return now.strftime("%Y%m%d%H%M%S") + f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


CHARSETS: Mapping[str, str] = MappingProxyType(
    {"": "utf-8", "ASCII": "ascii", "8859/1": "latin-1", "UNICODE UTF-8": "utf-8"}
)
