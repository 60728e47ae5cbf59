"""Vectorised makers of realistic CRM values (GUID keys, names, timestamps) from integer codes.

The demo simulation keeps only integers per record; these turn them into Arrow columns in a few
numpy/pyarrow calls, so a 200,000-row extract is built without any per-row Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MICROS_PER_DAY = 86_400_000_000
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASH_AFTER = (8, 12, 16, 20)
_GUID_CHUNK_ROWS = 1 << 24
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijective mix of uint64s: distinct inputs give distinct, random-looking outputs."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return z ^ (z >> np.uint64(31))


def guid_strings(ids: np.ndarray, salt: int, valid: np.ndarray | None = None) -> pa.ChunkedArray:
    """Dataverse-style lowercase GUIDs, one per id: stable for (id, salt) and unique per salt.

    Args:
        ids: Non-negative record numbers.
        salt: Distinguishes tables (and seeds), so keys of different tables never coincide.
        valid: Optional mask; rows where it is False become null.
    """
    ids = np.asarray(ids, dtype=np.int64)
    chunks = []
    for start in range(0, max(len(ids), 1), _GUID_CHUNK_ROWS):
        part = ids[start : start + _GUID_CHUNK_ROWS]
        mask = None if valid is None else valid[start : start + _GUID_CHUNK_ROWS]
        chunks.append(_guid_chunk(part, salt, mask))
    return pa.chunked_array(chunks, type=pa.string())


def _guid_chunk(ids: np.ndarray, salt: int, valid: np.ndarray | None) -> pa.Array:
    n = len(ids)
    x = ids.astype(np.uint64) ^ _splitmix64(np.array([salt], dtype=np.uint64))
    high = _splitmix64(x)
    low = _splitmix64(high ^ np.uint64(salt & 0xFFFFFFFF))
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0] = high
    raw[:, 1] = low
    octets = raw.view(np.uint8).reshape(n, 16)
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = octets >> 4
    nibbles[:, 1::2] = octets & 0x0F
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    source = 0
    target = 0
    for stop in (*_DASH_AFTER, 32):
        width = stop - source
        text[:, target : target + width] = _HEX[nibbles[:, source:stop]]
        source = stop
        target += width + 1
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(36)
    bitmap = None
    if valid is not None and not bool(valid.all()):
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()), bitmap
    )


def pick(vocabulary: Sequence[str], codes: np.ndarray) -> pa.Array:
    """The words `codes` index into `vocabulary` (codes wrap around)."""
    words = pa.array(list(vocabulary), type=pa.string())
    return pc.take(words, pa.array(np.asarray(codes, dtype=np.int64) % len(vocabulary)))


def join_words(separator: str, *parts: pa.Array) -> pa.Array:
    """Element-wise `separator.join(parts)`."""
    return pc.binary_join_element_wise(*parts, separator)


def lower(words: pa.Array) -> pa.Array:
    """Lower-case every string."""
    return pc.utf8_lower(words)


def timestamps(micros: np.ndarray) -> pa.Array:
    """Microseconds since the epoch as UTC timestamps."""
    return pa.array(np.asarray(micros, dtype=np.int64), type=pa.int64()).cast(
        pa.timestamp("us", tz="UTC")
    )


def dates(days_since_epoch: np.ndarray) -> pa.Array:
    """Days since the epoch as dates."""
    return pa.array(np.asarray(days_since_epoch, dtype=np.int32), type=pa.int32()).cast(pa.date32())


def day_start_micros(day: date) -> int:
    """Midnight UTC of `day`, in microseconds since the epoch."""
    return (day - date(1970, 1, 1)).days * MICROS_PER_DAY


def nullable_int(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Integers with nulls where `valid` is False."""
    return pa.array(np.asarray(values, dtype=np.int64), mask=~np.asarray(valid, dtype=bool))
