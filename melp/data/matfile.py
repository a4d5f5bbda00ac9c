"""Check a MATLAB v5 file's data-element types before scipy reads it.

Written by hand because scipy.io.loadmat's compiled reader trusts each element's type code: a corrupted
code (one flipped byte in an uploaded .mat) makes it index past its table of types and crash the whole
process with a segmentation fault, which no try/except can catch. This walks the element tags (through
compressed and nested matrix elements) and refuses unknown codes; the values themselves are left to
scipy, which reports other damage as ordinary exceptions.
"""
from __future__ import annotations

import struct
import zlib

HEADER_BYTES = 128
MI_MATRIX, MI_COMPRESSED = 14, 15
# miINT8..miUINT32, miSINGLE, miDOUBLE, miINT64, miUINT64, miMATRIX, miCOMPRESSED, miUTF8/16/32
VALID_TYPES = frozenset({1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18})
MAX_DEPTH = 16  # nested structs/cells deeper than this are refused rather than walked
MAX_INFLATED_BYTES = 512 * 1024 * 1024


def bad_element(blob: bytes) -> str | None:
    """None when every element tag of a v5 file has a known type (or the file is not v5), else why not."""
    if len(blob) < HEADER_BYTES or blob[126:128] not in (b"IM", b"MI"):
        return None  # MATLAB v4 (read by numpy in scipy) or not a .mat at all: scipy says so itself
    endian = "<" if blob[126:128] == b"IM" else ">"
    return _walk(blob, HEADER_BYTES, len(blob), endian, 0)


def _walk(buf: bytes, offset: int, end: int, endian: str, depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return f"elements nested more than {MAX_DEPTH} deep"
    while offset + 8 <= end:
        code, size = struct.unpack_from(endian + "II", buf, offset)
        if code >> 16:  # small element: type in the low 16 bits, size in the high 16, data in 4 bytes
            code, size, start, offset = code & 0xFFFF, code >> 16, offset + 4, offset + 8
            if size > 4:
                return f"small data element of {size} bytes at byte {start - 4}"
        else:
            start = offset + 8
            offset = start + size + (0 if code == MI_COMPRESSED else -size % 8)
        if code not in VALID_TYPES:
            return f"unknown data type {code} at byte {start - 8}"
        if start + size > end:
            return f"element at byte {start - 8} runs past the end of the file"
        if code == MI_COMPRESSED:
            try:
                inner = zlib.decompressobj().decompress(buf[start:start + size], MAX_INFLATED_BYTES)
            except zlib.error as exc:
                return f"compressed element at byte {start - 8} does not inflate ({exc})"
            problem = _walk(inner, 0, len(inner), endian, depth + 1)
        elif code == MI_MATRIX:
            problem = _walk(buf, start, start + size, endian, depth + 1)
        else:
            problem = None
        if problem:
            return problem
    return None
