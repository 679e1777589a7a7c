"""HL7 v2 ACKs for received ORU^R01 messages: MSH, MSA and one ERR per problem.

MSA-1 is AA, AE or AR; MSA-2 is the original MSH-10 (read as plainly as
possible even from a rejected message, so the sender can match the answer).
The ACK is always written with the standard delimiters ``|^~\\&``; the
sender's application and facility are re-encoded from its own delimiters.
Pure: ``now`` and the ACK's own control id are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from exoneb.monitoring.hl7 import (
    CHARSETS,
    ERROR_TEXT,
    STANDARD_ENCODING,
    AckCode,
    EncodingCharacters,
    Hl7Problem,
    escape,
    format_dtm,
    unescape,
)
from exoneb.monitoring.observations import require_aware
from exoneb.monitoring.pcd01 import Hl7Rejection, OruR01

__all__ = ["build_ack"]


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
        charset = CHARSETS.get(h.charset.upper(), "utf-8")
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
            format_dtm(now),
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
                    f"{p.code}^{escape(ERROR_TEXT.get(p.code, ''), enc)}^HL70357",
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
