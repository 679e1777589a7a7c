"""MLLP framing for HL7 v2: ``0x0B`` + message + ``0x1C 0x0D`` (interop.md §3.1). Pure, no sockets.

A TCP stream delivers frames in arbitrary pieces: one frame split over several
reads, or several frames in one read. :class:`MllpDecoder` buffers the pieces
and returns whole frames as they complete. Bytes that are not inside a frame
(noise before a start block, a frame cut short by a new start block, a frame
larger than the limit, what is left when the connection closes) are returned
as :class:`MllpJunk` with the bytes themselves, so the listener can keep them
for review: nothing received is ever silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "END_BLOCK",
    "START_BLOCK",
    "MllpDecoder",
    "MllpFrame",
    "MllpJunk",
    "encode_frame",
]

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
_END_CHAR = 0x1C


def encode_frame(payload: bytes) -> bytes:
    """Wrap one HL7 message in an MLLP frame.

    Parameters
    ----------
    payload : bytes
        The encoded HL7 message.

    Returns
    -------
    bytes
        ``0x0B`` + payload + ``0x1C 0x0D``.

    Raises
    ------
    ValueError
        If the payload contains a start-block (0x0B) or end-block (0x1C) byte,
        which would corrupt the framing at the receiver.
    """
    if START_BLOCK in payload or bytes([_END_CHAR]) in payload:
        raise ValueError("an MLLP payload must not contain 0x0B or 0x1C")
    return START_BLOCK + payload + END_BLOCK


@dataclass(frozen=True, slots=True)
class MllpFrame:
    """A complete frame's payload (without the framing bytes)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class MllpJunk:
    """Bytes received outside a complete frame, kept for review with the reason."""

    data: bytes
    reason: str


class MllpDecoder:
    """Incremental MLLP stream decoder.

    Feed it whatever the socket returned; it returns the frames (and junk)
    completed by that chunk, in stream order.

    Parameters
    ----------
    max_frame_bytes : int
        Largest payload accepted. A longer frame is returned as junk (in
        pieces, so memory stays bounded) until the next start block.
    """

    def __init__(self, max_frame_bytes: int = 1 << 20) -> None:
        if max_frame_bytes <= 0:
            raise ValueError("max_frame_bytes must be positive")
        self._max = max_frame_bytes
        self._buf = bytearray()
        self._in_frame = False
        self._oversize = False  # the current frame already overflowed: the rest is junk
        self._scanned = 0  # bytes of the current frame already searched for block markers

    @property
    def pending(self) -> int:
        """Bytes of the unfinished frame received so far, its start block included."""
        return len(self._buf) + (1 if self._in_frame else 0)

    def feed(self, chunk: bytes) -> list[MllpFrame | MllpJunk]:
        """Add received bytes; return the frames and junk they complete.

        Parameters
        ----------
        chunk : bytes
            Bytes as read from the connection (any length, including 0).

        Returns
        -------
        list of MllpFrame or MllpJunk
            In stream order.
        """
        out: list[MllpFrame | MllpJunk] = []
        buf = self._buf
        buf += chunk
        while buf:
            if not self._in_frame:
                start = buf.find(START_BLOCK)
                if start != 0:
                    stop = len(buf) if start < 0 else start
                    out.append(MllpJunk(bytes(buf[:stop]), "bytes outside an MLLP frame"))
                    del buf[:stop]
                    continue
                del buf[:1]
                self._in_frame, self._oversize, self._scanned = True, False, 0
                continue
            # Search only the new bytes (less one, in case 0x1C and 0x0D arrive apart).
            origin = max(self._scanned - 1, 0)
            end = buf.find(END_BLOCK, origin)
            restart = buf.find(START_BLOCK, origin)
            if restart >= 0 and (end < 0 or restart < end):
                reason = (
                    "rest of an oversize frame"
                    if self._oversize
                    else "frame interrupted by a new start block"
                )
                out.append(MllpJunk(bytes(buf[:restart]), reason))
                del buf[:restart]
                self._in_frame = False
                continue
            if end >= 0:
                payload = bytes(buf[:end])
                del buf[: end + len(END_BLOCK)]
                self._in_frame = False
                if self._oversize:
                    out.append(MllpJunk(payload, "rest of an oversize frame"))
                elif len(payload) > self._max:
                    out.append(MllpJunk(payload, "frame larger than the limit"))
                else:
                    out.append(MllpFrame(payload))
                continue
            # Incomplete frame. Keep a trailing 0x1C: its 0x0D may come in the next chunk.
            keep = 1 if buf[-1] == _END_CHAR else 0
            if len(buf) - keep > self._max:
                cut = len(buf) - keep
                out.append(MllpJunk(bytes(buf[:cut]), "frame larger than the limit"))
                del buf[:cut]
                self._oversize = True
            self._scanned = len(buf)
            break
        return out

    def close(self) -> list[MllpJunk]:
        """The connection closed: return an unfinished frame as junk and reset."""
        out: list[MllpJunk] = []
        if self._buf or self._in_frame:
            out.append(MllpJunk(bytes(self._buf), "connection closed mid-frame"))
        self._buf.clear()
        self._in_frame = False
        self._oversize = False
        self._scanned = 0
        return out
