"""Which of two row-aligned tables' rows differ, with the fingerprint's notion of "same value".

The sync diff and the impact analysis ask "did this record change?" of rows already paired by
key. Comparing the paired values column by column with Arrow kernels answers it exactly, and
costs a fraction of hashing every row of both sides (a 200,000-row table: about 10 ms against
130 ms). "Same" means what it means to the record-state fingerprint (`engine/fingerprint.py`),
so a diff never reports a change the fingerprint cannot see, nor misses one it can: integer
widths, string layouts and timestamp units do not matter, every NaN equals every NaN, -0.0
equals 0.0, a null equals only a null, a column one side lacks reads as null, and values of
different type families (an integer and a string, say) are different values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recovery_platform.engine.fingerprint import value_hashes

__all__ = ["rows_differ"]

Column: TypeAlias = pa.Array | pa.ChunkedArray

_FAMILIES: tuple[tuple[str, Callable[[pa.DataType], bool], pa.DataType | None], ...] = (
    ("bool", pa.types.is_boolean, pa.bool_()),
    ("int", pa.types.is_integer, pa.int64()),
    ("float", pa.types.is_floating, pa.float64()),
    ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)
     or pa.types.is_string_view(t), pa.large_string()),
    ("binary", lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)
     or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t), pa.large_binary()),
    ("date", pa.types.is_date, pa.date32()),
    ("timestamp", pa.types.is_timestamp, None),  # to UTC microseconds, see `_canonical`
    ("time", pa.types.is_time, pa.time64("us")),
    ("duration", pa.types.is_duration, pa.duration("us")),
    ("decimal", pa.types.is_decimal, None),  # compared by their text, as the fingerprint does
)
"""Type families whose members compare by value once cast to one canonical type."""


def rows_differ(left: pa.Table, right: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """Per row pair (row i of `left` with row i of `right`), whether any of `columns` differs.

    Args:
        left: rows on one side; a column it lacks reads as all null.
        right: the rows paired with them, as many as `left` has.
        columns: the columns that make up a record's content.

    Returns:
        A boolean numpy array with one entry per row pair.
    """
    if left.num_rows != right.num_rows:
        raise ValueError(f"cannot pair {left.num_rows} rows with {right.num_rows}")
    differ = np.zeros(left.num_rows, dtype=bool)
    for name in columns:
        differ |= _values_differ(_column(left, name), _column(right, name))
    return differ


def _column(table: pa.Table, name: str) -> Column:
    if name in table.schema.names:
        return table.column(name)
    return pa.nulls(table.num_rows)


def _family(data_type: pa.DataType) -> str | None:
    for name, member, _ in _FAMILIES:
        if member(data_type):
            return name
    return None


def _canonical(values: Column, family: str) -> Column:
    """`values` in their family's canonical type (the forms the fingerprint hashes)."""
    if family == "timestamp":
        unit_type = values.type
        assert isinstance(unit_type, pa.TimestampType)
        micros = pc.cast(values, pa.timestamp("us", tz=unit_type.tz), safe=False)
        return pc.cast(micros, pa.int64())  # instants are stored in UTC whatever the zone
    if family == "decimal":
        return pc.cast(values, pa.large_string())
    target = next(t for name, _, t in _FAMILIES if name == family)
    assert target is not None
    return values if values.type == target else pc.cast(values, target, safe=False)


def _values_differ(a: Column, b: Column) -> np.ndarray:
    if pa.types.is_dictionary(a.type):
        a = pc.dictionary_decode(a)
    if pa.types.is_dictionary(b.type):
        b = pc.dictionary_decode(b)
    if pa.types.is_null(a.type) or pa.types.is_null(b.type):
        return _to_numpy(pc.xor(pc.is_null(a), pc.is_null(b)))
    family = _family(a.type)
    if family is None or family != _family(b.type):
        # nested values, or two type families: the fingerprint's value hashes decide (values
        # of different families hash apart, nested ones through their JSON text)
        return np.asarray(value_hashes(a) != value_hashes(b))
    if a.type != b.type or family in ("timestamp", "decimal"):
        a, b = _canonical(a, family), _canonical(b, family)
    equal = pc.fill_null(pc.equal(a, b), True)  # null when either is null: decided below
    if family == "float":
        both_nan = pc.fill_null(pc.and_(pc.is_nan(a), pc.is_nan(b)), False)
        equal = pc.or_(equal, both_nan)
    return _to_numpy(pc.or_(pc.xor(pc.is_null(a), pc.is_null(b)), pc.invert(equal)))


def _to_numpy(mask: Column) -> np.ndarray:
    if isinstance(mask, pa.ChunkedArray):
        if mask.num_chunks == 0:
            return np.zeros(0, dtype=bool)
        mask = mask.combine_chunks()
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
