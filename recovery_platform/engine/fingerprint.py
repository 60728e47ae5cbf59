"""The record-state fingerprint: one 64-bit number that changes when any record's state changes.

A restore is proven by comparing the fingerprint after the restore with the fingerprint of the
target version, so the definition must not depend on the engine that computes it, on the order of
rows or columns, on how rows are split into batches, or on the Arrow representation an engine
happens to produce (string vs large_string, int32 vs int64, timestamp units and zones). It is
defined here once, over Arrow, with pure pyarrow and numpy so that the Spark engine can call the
same functions from `mapInArrow`.

What it covers: in a platform table, the key and the tracking columns
(`TableShape.record_state_columns`): which records exist and, per record, whether it is deleted
or purged and when a sync last wrote it. Every sync stamps `LastSynced` on each row it inserts,
changes, deletes or purges, so any sync's change to any column of a row changes the fingerprint,
at the cost of reading four columns instead of all of them. A rollback's proof adds the
all-columns check by metadata: the restored version must reference exactly the checkpoint
version's data files (Delta data files are immutable). Tables without a key or tracking columns
(written elsewhere) are fingerprinted over all their columns.

Definition (over the covered columns):
- every value is first brought to a canonical form (all integers to int64, floats to float64 bits
  with -0.0 as 0.0 and one NaN, dates to days, timestamps to UTC microseconds, strings to UTF-8
  bytes, decimals to their string form, nested values to their JSON text) and hashed together
  with a tag of its type family; a null hashes to a fixed constant of its own;
- each value hash is mixed with the hash of its column name, and the columns of a row are folded
  in name order, giving one row hash;
- a table's fingerprint is the sum of its row hashes modulo 2**64, so it is independent of row
  order and batch boundaries, and two fingerprints of disjoint row sets `combine` by addition.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["EMPTY_FINGERPRINT", "combine", "fingerprint_batches", "row_hashes", "value_hashes"]

EMPTY_FINGERPRINT = 0
"""The fingerprint of a table without rows."""

_MASK = (1 << 64) - 1
_U64 = np.uint64
_BASE = _U64(0x100000001B3)
_ROW_SEED = _U64(0x2545F4914F6CDD1D)
_NULL_HASH = _U64(0x6A09E667F3BCC909)
_BASE_INV = _U64(pow(0x100000001B3, -1, 1 << 64))
_CHUNK_BYTES = 1 << 20
_FIXED_WIDTH_MAX = 64
_POWERS: list[np.ndarray] = [np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint64)]
_NAN_BITS = np.array([np.nan], dtype=np.float64).view(np.uint64)[0]


@functools.lru_cache(maxsize=4096)
def _text_hash(text: str) -> np.uint64:
    """A stable 64-bit hash of a short text (column names, type tags)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return _U64(int.from_bytes(digest, "little"))


_TAG_INT = _text_hash("int")
_TAG_FLOAT = _text_hash("float")
_TAG_BOOL = _text_hash("bool")
_TAG_DATE = _text_hash("date")
_TAG_TIMESTAMP = _text_hash("timestamp")
_TAG_TIME = _text_hash("time")
_TAG_DURATION = _text_hash("duration")
_TAG_STRING = _text_hash("string")
_TAG_BINARY = _text_hash("binary")
_TAG_DECIMAL = _text_hash("decimal")
_TAG_NESTED = _text_hash("nested")


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: spreads every input bit over the whole word, vectorised."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def _fixed_hash(values: np.ndarray, tag: np.uint64) -> np.ndarray:
    """Hash 64-bit canonical words of one type family."""
    return _mix(values.astype(np.uint64, copy=False) ^ tag)


def _int_words(arr: pa.Array) -> np.ndarray:
    """Integers (of any width) as int64 words; nulls become 0 and are masked later."""
    filled = pc.fill_null(arr.cast(pa.int64()), 0)
    return filled.to_numpy(zero_copy_only=False).astype(np.int64, copy=False).view(np.uint64)


def _float_words(arr: pa.Array) -> np.ndarray:
    """Floats as float64 bits, with -0.0 folded into 0.0 and every NaN into one NaN."""
    values = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    values = np.array(values, dtype=np.float64, copy=True)
    values[values == 0.0] = 0.0
    bits = values.view(np.uint64)
    bits[np.isnan(values)] = _NAN_BITS
    return bits


def _timestamp_words(arr: pa.Array) -> np.ndarray:
    """Timestamps of any unit and zone as UTC microseconds (Arrow stores instants in UTC)."""
    unit_type = arr.type
    assert isinstance(unit_type, pa.TimestampType)
    micros = pc.cast(arr, pa.timestamp("us", tz=unit_type.tz), safe=False)
    return _int_words(micros.view(pa.int64()))


def _date_words(arr: pa.Array) -> np.ndarray:
    """Dates as days since the epoch."""
    days = pc.cast(arr, pa.date32()) if pa.types.is_date64(arr.type) else arr
    return _int_words(days.view(pa.int32()))


def _power_table(base: np.uint64, size: int) -> np.ndarray:
    """base**i modulo 2**64 for i < size."""
    table = np.empty(size, dtype=np.uint64)
    table[0] = 1
    with np.errstate(over="ignore"):
        np.cumprod(np.full(size - 1, base, dtype=np.uint64), out=table[1:])
    return table


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**i and BASE**-i modulo 2**64 for i < size, cached and grown on demand."""
    if _POWERS[0].size < size:
        size = max(size, _CHUNK_BYTES)
        _POWERS[0], _POWERS[1] = _power_table(_BASE, size), _power_table(_BASE_INV, size)
    return _POWERS[0], _POWERS[1]


def _segment_sums(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum of (byte + 1) * BASE**position per value, for values laid out back to back.

    Bytes are weighted by BASE**(absolute position) with one cached power table, summed per value
    with a segment reduction, and shifted back to relative positions with the modular inverse of
    the (odd) BASE; no per-row Python work.
    """
    sums = np.zeros(starts.size, dtype=np.uint64)
    nonempty = lengths > 0
    if data.size == 0 or not nonempty.any():
        return sums
    powers, inverses = _powers(data.size)
    with np.errstate(over="ignore"):
        terms = (data.astype(np.uint64) + _U64(1)) * powers[: data.size]
        firsts = starts[nonempty]
        sums[nonempty] = np.add.reduceat(terms, firsts) * inverses[firsts]
    return sums


def _fixed_width_sums(rows: np.ndarray) -> np.ndarray:
    """`_segment_sums` for values of one width (keys, GUIDs), one byte position at a time.

    The same sum of (byte + 1) * BASE**position, without the per-byte position table or the
    segment reduction: about 1.5 times faster on 36-character GUIDs.
    """
    powers, _ = _powers(rows.shape[1])
    sums = np.zeros(rows.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for position in range(rows.shape[1]):
            sums += (rows[:, position].astype(np.uint64) + _U64(1)) * powers[position]
    return sums


def _bytes_hash(arr: pa.Array, tag: np.uint64) -> np.ndarray:
    """A polynomial hash of each value's bytes, vectorised over the Arrow offsets.

    Each byte b at position i of a value contributes (b + 1) * BASE**i (wrapping uint64); the
    length is mixed in so that values which differ only in trailing bytes stay apart. Values are
    processed in groups of about `_CHUNK_BYTES` bytes so the power tables stay small.
    """
    n = len(arr)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    offset_type = np.int64 if large else np.int32
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[arr.offset : arr.offset + n + 1]
    offsets = offsets.astype(np.int64)
    lengths = np.diff(offsets)
    data_buffer = buffers[2]
    all_data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.empty(0, dtype=np.uint8)
    )
    width = int(lengths[0])
    if 0 < width <= _FIXED_WIDTH_MAX and bool((lengths == width).all()):
        start = int(offsets[0])
        sums = _fixed_width_sums(all_data[start : start + n * width].reshape(n, width))
        with np.errstate(over="ignore"):
            return _mix(sums ^ _mix(lengths.astype(np.uint64) ^ tag))
    sums = np.zeros(n, dtype=np.uint64)
    row = 0
    while row < n:
        byte_lo = int(offsets[row])
        end = int(np.searchsorted(offsets, byte_lo + _CHUNK_BYTES, side="right")) - 1
        end = min(max(end, row + 1), n)
        byte_hi = int(offsets[end])
        sums[row:end] = _segment_sums(
            all_data[byte_lo:byte_hi], offsets[row:end] - byte_lo, lengths[row:end]
        )
        row = end
    with np.errstate(over="ignore"):
        return _mix(sums ^ _mix(lengths.astype(np.uint64) ^ tag))


def _string_hash(arr: pa.Array, tag: np.uint64) -> np.ndarray:
    """Hash string-like values as UTF-8 (or raw) bytes, whatever their Arrow layout."""
    t = arr.type
    if pa.types.is_string_view(t):
        arr = arr.cast(pa.large_string())
    elif pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        arr = arr.cast(pa.large_binary())
    return _bytes_hash(arr, tag)


def _nested_hash(arr: pa.Array) -> np.ndarray:
    """Nested values through their JSON text: rare in bronze tables, so a plain loop is fine."""
    texts = [
        None if value is None else json.dumps(value, sort_keys=True, default=str)
        for value in arr.to_pylist()
    ]
    return _bytes_hash(pa.array(texts, type=pa.large_string()), _TAG_NESTED)


def _value_hash(arr: pa.Array) -> np.ndarray:
    """Hash one column's values by type family (nulls are masked by the caller)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        return _value_hash(arr.dictionary_decode())
    if pa.types.is_null(t):
        return np.zeros(len(arr), dtype=np.uint64)
    if pa.types.is_boolean(t):
        return _fixed_hash(_int_words(arr.cast(pa.int8())), _TAG_BOOL)
    if pa.types.is_integer(t):
        return _fixed_hash(_int_words(arr), _TAG_INT)
    if pa.types.is_floating(t):
        return _fixed_hash(_float_words(arr), _TAG_FLOAT)
    if pa.types.is_timestamp(t):
        return _fixed_hash(_timestamp_words(arr), _TAG_TIMESTAMP)
    if pa.types.is_date(t):
        return _fixed_hash(_date_words(arr), _TAG_DATE)
    if pa.types.is_time(t):
        micros = pc.cast(arr, pa.time64("us"), safe=False).view(pa.int64())
        return _fixed_hash(_int_words(micros), _TAG_TIME)
    if pa.types.is_duration(t):
        micros = pc.cast(arr, pa.duration("us"), safe=False).view(pa.int64())
        return _fixed_hash(_int_words(micros), _TAG_DURATION)
    if pa.types.is_decimal(t):
        return _string_hash(arr.cast(pa.large_string()), _TAG_DECIMAL)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _string_hash(arr, _TAG_STRING)
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    ):
        return _string_hash(arr, _TAG_BINARY)
    return _nested_hash(arr)


def _column_hash(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per-row hashes of one column, with nulls as the fixed null constant."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        hashes = _value_hash(chunk)
        if chunk.null_count:
            nulls = chunk.is_null().to_numpy(zero_copy_only=False)
            hashes = np.where(nulls, _NULL_HASH, hashes)
        parts.append(hashes)
    if not parts:
        return np.empty(0, dtype=np.uint64)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def value_hashes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """One stable 64-bit hash per value of one column (a null hashes to the null constant).

    The per-value hash the row hashes are built from; key indexes use it for membership.
    """
    return _column_hash(values)


def row_hashes(batch: pa.RecordBatch | pa.Table) -> np.ndarray:
    """One stable 64-bit hash per row, independent of column order and Arrow representation.

    Args:
        batch: rows to hash; any mix of the supported Arrow types.

    Returns:
        A uint64 array with one hash per row, in the rows' order.
    """
    rows = np.full(batch.num_rows, _ROW_SEED, dtype=np.uint64)
    for name in sorted(batch.schema.names):
        values = _column_hash(batch.column(name))
        with np.errstate(over="ignore"):
            rows = _mix(rows * _BASE + _mix(values ^ _text_hash(name)))
    return rows


def fingerprint_batches(batches: Iterable[pa.RecordBatch]) -> int:
    """The fingerprint of all rows in `batches`: their row hashes summed modulo 2**64.

    Args:
        batches: the rows, in any order and any batch split.

    Returns:
        An int in [0, 2**64); `EMPTY_FINGERPRINT` when there are no rows.
    """
    total = EMPTY_FINGERPRINT
    for batch in batches:
        if batch.num_rows:
            total = combine(total, int(np.sum(row_hashes(batch), dtype=np.uint64)))
    return total


def combine(a: int, b: int) -> int:
    """The fingerprint of the union of two disjoint row sets with fingerprints `a` and `b`."""
    return (a + b) & _MASK
