"""HL7 v2 syntax: escape sequences (HL7 v2 §2.7), date/times (interop.md §3.1 OBX-14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exoneb.monitoring.hl7 import (
    EncodingCharacters,
    encoding_from,
    escape,
    format_dtm,
    parse_dtm,
    unescape,
)


@pytest.mark.parametrize(
    ("escaped", "text"),
    [
        ("a\\F\\b", "a|b"),
        ("a\\S\\b", "a^b"),
        ("a\\T\\b", "a&b"),
        ("a\\R\\b", "a~b"),
        ("a\\E\\b", "a\\b"),
        ("\\X41\\\\X42\\", "AB"),
        ("\\XC3A9\\", "\xe9"),
        ("line\\.br\\next", "line\nnext"),
        ("\\H\\bold\\N\\", "bold"),
        ("\\Zlocal\\", "\\Zlocal\\"),
        ("plain", "plain"),
    ],
)
def test_unescape(escaped: str, text: str) -> None:
    assert unescape(escaped) == text


@pytest.mark.parametrize("bad", ["a\\F", "\\XZZ\\"])
def test_bad_escapes_raise_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="escape"):
        unescape(bad)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=50))
def test_escape_round_trip(text: str) -> None:
    escaped = escape(text)
    assert not set("|^~&\r\n") & set(escaped)
    assert unescape(escaped) == text.replace("\r\n", "\n")


def test_v27_truncation_escape() -> None:
    enc = EncodingCharacters(truncation="#")
    assert unescape("a\\P\\b", enc) == "a#b"
    assert escape("a#b", enc) == "a\\P\\b"
    assert unescape("a\\P\\b") == "a\\P\\b"  # no truncation character declared: kept verbatim


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20250301102000+0100", datetime(2025, 3, 1, 9, 20, tzinfo=UTC)),
        ("20250301102000.25-0500", datetime(2025, 3, 1, 15, 20, 0, 250000, tzinfo=UTC)),
        ("202503011020+0000", datetime(2025, 3, 1, 10, 20, tzinfo=UTC)),
        ("20250301+0000", datetime(2025, 3, 1, tzinfo=UTC)),
    ],
)
def test_parse_dtm(text: str, expected: datetime) -> None:
    assert parse_dtm(text, None) == expected


def test_dtm_without_offset_needs_a_zone() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_dtm("20250301102000", None)
    plus2 = timezone(timedelta(hours=2))
    assert parse_dtm("20250301102000", plus2) == datetime(2025, 3, 1, 8, 20, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2025-03-01", "20250301102000+01", "yesterday", ""])
def test_bad_dtm_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="HL7 date/time"):
        parse_dtm(bad, UTC)


def test_format_dtm_round_trips_to_the_second() -> None:
    when = datetime(2025, 3, 1, 10, 20, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
    assert format_dtm(when) == "20250301102005-0330"
    assert parse_dtm(format_dtm(when), None) == when


@pytest.mark.parametrize(
    ("sep", "msh2", "ok"),
    [
        ("|", "^~\\&", True),
        ("|", "^~\\&#", True),
        ("#", "$*!@", True),
        ("|", "^~\\", False),
        ("|", "^^\\&", False),
        ("|", "^~|&", False),
        ("|", "^~A&", False),
        ("|", "^~ &", False),
    ],
)
def test_encoding_characters(sep: str, msh2: str, ok: bool) -> None:
    result = encoding_from(sep, msh2)
    assert isinstance(result, EncodingCharacters) is ok
