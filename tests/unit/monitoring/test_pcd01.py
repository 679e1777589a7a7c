"""HL7 v2 ORU^R01 (IHE PCD-01) parsing and ACKs (reference/interop.md §3.1), no sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exoneb.monitoring.ack import build_ack
from exoneb.monitoring.hl7 import (
    STANDARD_ENCODING,
    AckCode,
    EncodingCharacters,
    ErrorCode,
    Hl7Problem,
    unescape,
)
from exoneb.monitoring.mdc import VitalParameter
from exoneb.monitoring.observations import ObservationSource
from exoneb.monitoring.pcd01 import Hl7Rejection, OruR01, parse_oru_r01, to_observations

PLUS1 = timezone(timedelta(hours=1))
NOW = datetime(2025, 3, 1, 9, 20, 1, tzinfo=UTC)

# The example PCD-01 message of interop.md §3.1, with an ECG heart rate added.
SEGMENTS = [
    "MSH|^~\\&|MON01^0800190000000001^EUI-64|ICU|NEBSYS|CLINIC|20250301102000+0100||"
    "ORU^R01^ORU_R01|MSG000123|P|2.6|||NE|AL",
    "PID|||MRN-001^^^CLINIC^MR||Doe^Jane",
    "PV1||O|NEB^BAY1",
    "OBR|1|||182777000^monitoring of patient^SCT|||20250301102000+0100",
    "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
    "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|95|262688^MDC_DIM_PERCENT^MDC|||||R|||"
    "20250301102000+0100||||0800190000000001^EUI-64",
    "OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|88|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    "|||20250301102000+0100||||0800190000000001^EUI-64",
]


def message(*segments: str, sep: str = "\r") -> bytes:
    return sep.join(segments or SEGMENTS).encode()


def replace_segment(index: int, text: str) -> bytes:
    segs = list(SEGMENTS)
    segs[index] = text
    return message(*segs)


def parsed(raw: bytes, **kwargs: object) -> OruR01:
    result = parse_oru_r01(raw, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, OruR01), result
    return result


def rejected(raw: bytes) -> Hl7Rejection:
    result = parse_oru_r01(raw)
    assert isinstance(result, Hl7Rejection), result
    assert result.raw == raw  # kept for review, never dropped
    return result


def ack_segments(ack: bytes) -> list[list[str]]:
    return [s.split("|") for s in ack.decode().split("\r") if s]


# --- a valid PCD-01 message ---


def test_valid_pcd01_header_and_patient() -> None:
    m = parsed(message())
    assert m.header.control_id == "MSG000123"
    assert (m.header.message_type, m.header.trigger_event, m.header.version) == (
        "ORU",
        "R01",
        "2.6",
    )
    assert m.header.message_time == datetime(2025, 3, 1, 10, 20, tzinfo=PLUS1)
    assert [(p.id, p.assigning_authority, p.type_code) for p in m.patient_ids] == [
        ("MRN-001", "CLINIC", "MR")
    ]
    assert m.patient_name == "Doe^Jane"
    assert m.problems == ()
    assert m.ack_code is AckCode.AA


def test_valid_pcd01_maps_spo2_and_pulse_rate_with_units() -> None:
    m = parsed(message())
    header, spo2, pulse = m.readings
    assert header.mapping is None
    assert not header.valid
    assert header.identifier == "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC"
    assert spo2.mapping is not None
    assert spo2.mapping.parameter is VitalParameter.SPO2
    assert (spo2.mapping.code, spo2.mapping.refid) == (150456, "MDC_PULS_OXIM_SAT_O2")
    assert (spo2.value, spo2.unit, spo2.valid, spo2.status) == (95.0, "%", True, "R")
    assert spo2.sub_id == "1.1.1.1"
    assert spo2.equipment_id == "0800190000000001"
    assert spo2.observed_at == datetime(2025, 3, 1, 9, 20, tzinfo=UTC)
    assert pulse.mapping is not None
    assert pulse.mapping.parameter is VitalParameter.PULSE_RATE
    assert (pulse.value, pulse.unit, pulse.mapping.unit_refid) == (
        88.0,
        "/min",
        "MDC_DIM_BEAT_PER_MIN",
    )


def test_readings_become_device_observations() -> None:
    (obs,) = to_observations(parsed(message()))
    assert obs.source is ObservationSource.DEVICE
    assert (obs.spo2_pct, obs.heart_rate_per_min) == (95.0, 88.0)
    assert obs.at == datetime(2025, 3, 1, 9, 20, tzinfo=UTC)


def test_ecg_heart_rate_is_preferred_over_pulse_rate() -> None:
    ecg = (
        "OBX|4|NM|147842^MDC_ECG_HEART_RATE^MDC|1.2.1.1|90|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        "|||||R|||20250301102000+0100"
    )
    # Whichever comes first in the message, the ECG heart rate wins.
    for segments in ([*SEGMENTS, ecg], [*SEGMENTS[:5], ecg, *SEGMENTS[5:]]):
        (obs,) = to_observations(parsed(message(*segments)))
        assert obs.heart_rate_per_min == 90.0


def test_ucum_units_and_refid_only_codes_are_accepted() -> None:
    raw = replace_segment(
        5,
        "OBX|2|NM|^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|%^percent^UCUM|||||F|||20250301102000+0100",
    )
    spo2 = parsed(raw).readings[1]
    assert spo2.valid
    assert spo2.value == 97.0


@pytest.mark.parametrize("sep", ["\n", "\r\n"])
def test_line_feed_segment_separators_are_tolerated(sep: str) -> None:
    assert parsed(message(*SEGMENTS, sep=sep)).readings[1].value == 95.0


def test_status_x_marks_a_reading_invalid_without_an_error() -> None:
    raw = replace_segment(5, SEGMENTS[5].replace("|95|", "||").replace("|R|", "|X|"))
    m = parsed(raw)
    assert not m.readings[1].valid
    assert m.readings[1].value is None
    assert m.ack_code is AckCode.AA


# --- content errors: AE, the usable rest kept ---


def test_non_numeric_value_is_an_error_located_in_obx_5() -> None:
    m = parsed(replace_segment(5, SEGMENTS[5].replace("|95|", "|ninety|")))
    assert m.ack_code is AckCode.AE
    assert [(p.code, p.segment, p.sequence, p.field_no) for p in m.problems] == [(102, "OBX", 2, 5)]
    assert not m.readings[1].valid
    assert m.readings[2].valid  # the pulse rate is still usable
    err = ack_segments(build_ack(m, now=NOW, control_id="A1"))[2]
    assert err[0] == "ERR"
    assert err[2] == "OBX^2^5"
    assert err[3] == "102^Data type error^HL70357"


def test_wrong_unit_is_refused_not_converted() -> None:
    raw = replace_segment(
        5, SEGMENTS[5].replace("262688^MDC_DIM_PERCENT", "264864^MDC_DIM_BEAT_PER_MIN")
    )
    m = parsed(raw)
    assert m.ack_code is AckCode.AE
    assert m.problems[0].code == 103
    assert m.problems[0].field_no == 6
    assert not m.readings[1].valid


def test_implausible_value_is_an_error() -> None:
    m = parsed(replace_segment(5, SEGMENTS[5].replace("|95|", "|101|")))
    assert m.ack_code is AckCode.AE
    assert not m.readings[1].valid


def test_missing_patient_identifier_is_an_error() -> None:
    m = parsed(replace_segment(1, "PID|||||Doe^Jane"))
    assert m.ack_code is AckCode.AE
    assert (m.problems[0].code, m.problems[0].segment, m.problems[0].field_no) == (101, "PID", 3)
    m = parsed(message(*(s for s in SEGMENTS if not s.startswith("PID"))))
    assert m.ack_code is AckCode.AE
    assert m.patient_ids == ()


def test_obx_before_obr_is_a_sequence_error() -> None:
    segs = [SEGMENTS[0], SEGMENTS[1], SEGMENTS[5], SEGMENTS[3]]
    m = parsed(message(*segs))
    assert m.problems[0].code == 100


def test_timestamps_without_offset_need_the_site_time_zone() -> None:
    segs = [s.replace("20250301102000+0100", "20250301102000") for s in SEGMENTS]
    m = parsed(message(*segs))
    assert m.ack_code is AckCode.AE  # guessing UTC could shift readings by hours
    with_tz = parsed(message(*segs), default_tz=PLUS1)
    assert with_tz.ack_code is AckCode.AA
    assert with_tz.readings[1].observed_at == datetime(2025, 3, 1, 9, 20, tzinfo=UTC)


def test_obx_time_falls_back_to_obr_7() -> None:
    raw = replace_segment(5, SEGMENTS[5].replace("|||20250301102000+0100||||", "|||||||"))
    assert parsed(raw).readings[1].observed_at == datetime(2025, 3, 1, 9, 20, tzinfo=UTC)


# --- messages that cannot be used: AR, raw bytes kept ---


@pytest.mark.parametrize(
    "raw",
    [b"", b"hello world", b"\x00\xff\xfe garbage", b"PID|||MRN-001\rMSH|^~\\&|A", b"MSH|"],
)
def test_garbage_is_rejected_not_raised(raw: bytes) -> None:
    r = rejected(raw)
    assert r.ack_code is AckCode.AR
    assert r.problems
    ack = ack_segments(build_ack(r, now=NOW, control_id="A9"))
    assert ack[1][:2] == ["MSA", "AR"]


def test_invalid_utf8_is_rejected() -> None:
    r = rejected(message().replace(b"Jane", b"J\xe9ne"))
    assert r.ack_code is AckCode.AR
    assert "utf-8" in r.reason
    assert r.control_id == "MSG000123"


def test_latin1_is_read_when_msh_18_declares_it() -> None:
    segs = list(SEGMENTS)
    segs[0] = segs[0] + "||8859/1"  # MSH-17 empty, MSH-18
    segs[1] = "PID|||MRN-001^^^CLINIC^MR||Doe^J\xe9ne"
    m = parsed("\r".join(segs).encode("latin-1"))
    assert m.patient_name == "Doe^J\xe9ne"


@pytest.mark.parametrize(
    ("msh9", "code"),
    [("ADT^A01^ADT_A01", 200), ("ORU^R30^ORU_R30", 201)],
)
def test_unsupported_message_type_or_event(msh9: str, code: int) -> None:
    r = rejected(replace_segment(0, SEGMENTS[0].replace("ORU^R01^ORU_R01", msh9)))
    assert r.problems[-1].code == code
    msa = ack_segments(build_ack(r, now=NOW, control_id="A2"))[1]
    assert msa == ["MSA", "AR", "MSG000123"]


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [("|MSG000123|", "||", 101), ("|2.6|", "|3.0|", 203), ("|P|", "|Q|", 202)],
)
def test_bad_header_fields_are_rejected(old: str, new: str, code: int) -> None:
    r = rejected(replace_segment(0, SEGMENTS[0].replace(old, new, 1)))
    assert r.ack_code is AckCode.AR
    assert r.problems[-1].code == code


# --- encoding characters from MSH-2 ---


@pytest.mark.parametrize("msh2", ["^~\\", "^^\\&", "^~A&", "^~\\&#!"])
def test_wrong_encoding_characters_are_rejected(msh2: str) -> None:
    r = rejected(replace_segment(0, SEGMENTS[0].replace("^~\\&", msh2, 1)))
    assert r.ack_code is AckCode.AR
    assert (r.problems[0].segment, r.problems[0].field_no) == ("MSH", 2)
    # The control id is still found, so the sender can match the rejection.
    assert ack_segments(build_ack(r, now=NOW, control_id="A3"))[1] == ["MSA", "AR", "MSG000123"]


def test_non_standard_delimiters_declared_in_msh_are_honoured() -> None:
    table = str.maketrans({"|": "#", "^": "$", "~": "*", "\\": "!", "&": "@"})
    raw = "\r".join(s.translate(table) for s in SEGMENTS).encode()
    m = parsed(raw)
    assert m.header.encoding == EncodingCharacters("#", "$", "*", "!", "@")
    assert [r.value for r in m.readings] == [None, 95.0, 88.0]
    assert m.patient_ids[0].id == "MRN-001"
    # The ACK is written in standard delimiters, the sender's fields re-encoded.
    msh = ack_segments(build_ack(m, now=NOW, control_id="A4"))[0]
    assert msh[1] == "^~\\&"
    assert msh[4] == "MON01^0800190000000001^EUI-64"


def test_v27_truncation_character_is_accepted() -> None:
    m = parsed(replace_segment(0, SEGMENTS[0].replace("^~\\&", "^~\\&#", 1)))
    assert m.header.encoding.truncation == "#"


# --- escape sequences ---


def test_escape_sequences_in_a_message_are_decoded() -> None:
    raw = replace_segment(1, "PID|||MRN\\F\\001^^^CLINIC^MR||O\\S\\Brien\\T\\Smith^Ann")
    m = parsed(raw)
    assert m.patient_ids[0].id == "MRN|001"
    assert m.patient_name == "O^Brien&Smith^Ann"


def test_unterminated_escape_in_a_message_is_an_error_result() -> None:
    r = rejected(replace_segment(1, "PID|||MRN\\F001^^^CLINIC^MR||Doe"))
    assert r.ack_code is AckCode.AE
    assert r.control_id == "MSG000123"


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = parse_oru_r01(raw)
    assert result.raw == raw
    build_ack(result, now=NOW, control_id="P1")


@given(st.lists(st.sampled_from(SEGMENTS[1:]), max_size=8), st.integers(0, 120))
def test_mangled_messages_never_raise(segments: list[str], cut: int) -> None:
    raw = message(SEGMENTS[0], *segments)[: 60 + cut * 5]
    result = parse_oru_r01(raw)
    assert result.raw == raw


# --- ACKs ---


def test_ack_for_a_valid_message() -> None:
    ack = build_ack(parsed(message()), now=NOW, control_id="ACK0001", facility="CLINIC")
    msh, msa = ack_segments(ack)
    assert msh[:12] == [
        "MSH",
        "^~\\&",
        "EXONEB",
        "CLINIC",
        "MON01^0800190000000001^EUI-64",
        "ICU",
        "20250301092001+0000",
        "",
        "ACK^R01^ACK",
        "ACK0001",
        "P",
        "2.6",
    ]
    assert msa == ["MSA", "AA", "MSG000123"]
    assert ack.endswith(b"\r")


def test_ack_for_an_unknown_patient_is_ae_with_err() -> None:
    unknown = Hl7Problem(
        ErrorCode.UNKNOWN_KEY, "Patient MRN-001 is not in a monitored session", "E", "PID", 1, 3
    )
    segs = ack_segments(
        build_ack(parsed(message()), now=NOW, control_id="A5", extra_problems=[unknown])
    )
    assert segs[1] == ["MSA", "AE", "MSG000123"]
    assert segs[2] == [
        "ERR",
        "",
        "PID^1^3",
        "204^Unknown key identifier^HL70357",
        "E",
        "",
        "",
        "",
        "Patient MRN-001 is not in a monitored session",
    ]


def test_ack_code_can_be_forced_for_a_duplicate() -> None:
    segs = ack_segments(build_ack(parsed(message()), now=NOW, control_id="A6", code=AckCode.AA))
    assert segs[1][1] == "AA"


def test_ack_text_is_escaped() -> None:
    problem = Hl7Problem(207, "bad | value ^ here", "E")
    ack = build_ack(parsed(message()), now=NOW, control_id="A7", extra_problems=[problem])
    err = ack_segments(ack)[2]
    assert err[8] == "bad \\F\\ value \\S\\ here"
    assert unescape(err[8], STANDARD_ENCODING) == "bad | value ^ here"


def test_ack_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_ack(parsed(message()), now=NOW.replace(tzinfo=None), control_id="A8")
