"""The image size a compressed DICOM frame declares inside its own codestream, read from its first bytes.

A decoder allocates what the codestream says, not what the DICOM header says, so the two must agree before a
frame is decoded: the header's size is the one checked against the limits (:mod:`engine.data.scans`).
"""

from __future__ import annotations

JPEG_SOF = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC} | {0xF7}  # baseline to lossless, and JPEG-LS's SOF55
MAX_SEGMENTS = 256  # a real header reaches its frame header within a few segments


def declared_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG, JPEG-LS or JPEG 2000/HTJ2K codestream; None if it is none of these or its
    header cannot be parsed (the decoder then fails on it)."""
    if frame[:2] == b"\xff\xd8":
        return _jpeg_size(frame)
    if frame[:4] == b"\xff\x4f\xff\x51" and len(frame) >= 24:  # SOC then SIZ: Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz
        x, y, x0, y0 = (int.from_bytes(frame[i : i + 4], "big") for i in (8, 12, 16, 20))
        return x - x0, y - y0
    return None


def _jpeg_size(frame: bytes) -> tuple[int, int] | None:
    at = 2
    for _ in range(MAX_SEGMENTS):
        if at + 9 > len(frame) or frame[at] != 0xFF:
            return None
        marker, length = frame[at + 1], int.from_bytes(frame[at + 2 : at + 4], "big")
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in JPEG_SOF:  # length(2) precision(1) height(2) width(2)
            return int.from_bytes(frame[at + 7 : at + 9], "big"), int.from_bytes(frame[at + 5 : at + 7], "big")
        at += 2 + length
    return None
