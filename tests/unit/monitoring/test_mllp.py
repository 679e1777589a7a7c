"""MLLP framing (reference/interop.md §3.1: 0x0B + message + 0x1C 0x0D), stream decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exoneb.monitoring.mllp import MllpDecoder, MllpFrame, MllpJunk, encode_frame

MSG_A = b"MSH|^~\\&|MON01|ICU|NEBSYS|CLINIC|20250301102000+0100||ORU^R01|A|P|2.6\rPID|||1"
MSG_B = b"MSH|^~\\&|MON02|ICU|NEBSYS|CLINIC|20250301102100+0100||ORU^R01|B|P|2.6\rPID|||2"


def test_encode_wraps_in_start_and_end_blocks() -> None:
    assert encode_frame(b"MSH|x") == b"\x0bMSH|x\x1c\x0d"


@pytest.mark.parametrize("payload", [b"a\x0bb", b"a\x1cb"])
def test_encode_refuses_framing_bytes_in_the_payload(payload: bytes) -> None:
    with pytest.raises(ValueError, match="must not contain"):
        encode_frame(payload)


def test_one_frame_in_one_chunk() -> None:
    assert MllpDecoder().feed(encode_frame(MSG_A)) == [MllpFrame(MSG_A)]


def test_two_frames_in_one_chunk() -> None:
    chunk = encode_frame(MSG_A) + encode_frame(MSG_B)
    assert MllpDecoder().feed(chunk) == [MllpFrame(MSG_A), MllpFrame(MSG_B)]


@pytest.mark.parametrize("cut", [1, 5, len(MSG_A), len(MSG_A) + 1, len(MSG_A) + 2])
def test_a_frame_split_across_chunks(cut: int) -> None:
    # Includes a cut between 0x1C and 0x0D, and one just after the start block.
    frame = encode_frame(MSG_A)
    decoder = MllpDecoder()
    assert decoder.feed(frame[:cut]) == []
    assert decoder.pending > 0
    assert decoder.feed(frame[cut:]) == [MllpFrame(MSG_A)]
    assert decoder.pending == 0


def test_byte_by_byte() -> None:
    decoder = MllpDecoder()
    out: list[MllpFrame | MllpJunk] = []
    for b in encode_frame(MSG_A) + encode_frame(MSG_B):
        out += decoder.feed(bytes([b]))
    assert out == [MllpFrame(MSG_A), MllpFrame(MSG_B)]


def test_end_of_one_frame_and_start_of_the_next_in_one_chunk() -> None:
    stream = encode_frame(MSG_A) + encode_frame(MSG_B)
    decoder = MllpDecoder()
    cut = len(MSG_A) - 3
    assert decoder.feed(stream[:cut]) == []
    assert decoder.feed(stream[cut : cut + 20]) == [MllpFrame(MSG_A)]
    assert decoder.feed(stream[cut + 20 :]) == [MllpFrame(MSG_B)]


def test_bytes_outside_frames_are_returned_as_junk() -> None:
    out = MllpDecoder().feed(b"noise" + encode_frame(MSG_A) + b"\r\n")
    assert out == [
        MllpJunk(b"noise", "bytes outside an MLLP frame"),
        MllpFrame(MSG_A),
        MllpJunk(b"\r\n", "bytes outside an MLLP frame"),
    ]


def test_a_frame_cut_short_by_a_new_start_block_is_kept_as_junk() -> None:
    out = MllpDecoder().feed(b"\x0bMSH|half" + encode_frame(MSG_B))
    assert out == [
        MllpJunk(b"MSH|half", "frame interrupted by a new start block"),
        MllpFrame(MSG_B),
    ]


def test_connection_closed_mid_frame_returns_the_partial_frame() -> None:
    decoder = MllpDecoder()
    decoder.feed(b"\x0bMSH|partial\x1c")
    assert decoder.close() == [MllpJunk(b"MSH|partial\x1c", "connection closed mid-frame")]
    assert decoder.close() == []
    assert decoder.feed(encode_frame(MSG_A)) == [MllpFrame(MSG_A)]


def test_an_oversize_frame_is_junk_in_bounded_pieces_and_the_stream_recovers() -> None:
    decoder = MllpDecoder(max_frame_bytes=10)
    out = decoder.feed(b"\x0b" + b"x" * 25)
    assert [j.reason for j in out if isinstance(j, MllpJunk)] == ["frame larger than the limit"]
    assert len(out) == 1
    assert decoder.pending <= 10
    out += decoder.feed(b"yyy\x1c\x0d" + encode_frame(b"ok"))
    assert out[-1] == MllpFrame(b"ok")
    junk = b"".join(j.data for j in out if isinstance(j, MllpJunk))
    assert junk == b"x" * 25 + b"yyy"  # nothing dropped


def test_a_complete_frame_over_the_limit_is_junk() -> None:
    assert MllpDecoder(max_frame_bytes=3).feed(encode_frame(b"toolong")) == [
        MllpJunk(b"toolong", "frame larger than the limit")
    ]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        MllpDecoder(max_frame_bytes=0)


payloads = st.binary(max_size=200).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))


@given(payloads)
def test_round_trip(payload: bytes) -> None:
    assert MllpDecoder().feed(encode_frame(payload)) == [MllpFrame(payload)]


@given(st.lists(payloads, max_size=6), st.lists(st.integers(1, 50), min_size=1, max_size=30))
def test_any_chunking_yields_the_same_frames(messages: list[bytes], sizes: list[int]) -> None:
    stream = b"".join(encode_frame(m) for m in messages)
    decoder = MllpDecoder()
    out: list[MllpFrame | MllpJunk] = []
    pos, i = 0, 0
    while pos < len(stream):
        size = sizes[i % len(sizes)]
        out += decoder.feed(stream[pos : pos + size])
        pos, i = pos + size, i + 1
    assert out == [MllpFrame(m) for m in messages]
    assert decoder.close() == []


@given(st.binary(max_size=300), st.integers(1, 40))
def test_no_byte_is_lost(stream: bytes, size: int) -> None:
    # Every input byte is either framing or inside a frame or junk.
    decoder = MllpDecoder(max_frame_bytes=64)
    out: list[MllpFrame | MllpJunk] = []
    for pos in range(0, len(stream), size):
        out += decoder.feed(stream[pos : pos + size])
    out += decoder.close()
    kept = sum(len(o.payload if isinstance(o, MllpFrame) else o.data) for o in out)
    framing = stream.count(b"\x0b") + 2 * sum(isinstance(o, MllpFrame) for o in out)
    oversize_ends = sum(
        1 for o in out if isinstance(o, MllpJunk) and o.reason != "bytes outside an MLLP frame"
    )
    assert kept + framing <= len(stream) <= kept + framing + 2 * oversize_ends


def test_an_end_block_split_after_an_oversize_run_is_framing_not_junk() -> None:
    decoder = MllpDecoder(max_frame_bytes=5)
    out = decoder.feed(b"\x0b" + b"x" * 10 + b"\x1c")
    out += decoder.feed(b"\x0d" + encode_frame(b"ok"))
    junk = b"".join(o.data for o in out if isinstance(o, MllpJunk))
    assert junk == b"x" * 10
    assert out[-1] == MllpFrame(b"ok")
