"""Row hashing on Spark executors: the fingerprint definition applied to each Arrow batch.

The functions here run inside `mapInArrow` on executors, where recovery_platform need not be
installed: `ship_by_value` makes cloudpickle send this module and `fingerprint` by value, so
executors need only pyarrow and numpy. Spark has no unsigned 64-bit type, so a partial
fingerprint travels as two 32-bit halves in int64 columns and a row hash as the int64 with the
same bits; the driver recombines them in Python.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa

from recovery_platform.engine import fingerprint
from recovery_platform.engine.fingerprint import EMPTY_FINGERPRINT, combine, row_hashes

__all__ = [
    "HASH_COLUMN",
    "PARTIAL_SCHEMA",
    "from_halves",
    "partial_fingerprints",
    "row_hash_mapper",
    "ship_by_value",
]

HASH_COLUMN = "_row_hash"
"""The int64 column carrying a row hash (the uint64 bits reinterpreted)."""

PARTIAL_SCHEMA = "hi long, lo long, rows long"
"""One partition's fingerprint as two 32-bit halves, and how many rows it covered."""

_LOW_MASK = 0xFFFFFFFF
_shipped = False


def ship_by_value() -> None:
    """Pickle this module and `fingerprint` by value, once per driver process."""
    global _shipped
    if _shipped:
        return
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(fingerprint)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    _shipped = True


def partial_fingerprints(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One row per partition: the sum of its row hashes modulo 2**64, split in halves."""
    total, rows = EMPTY_FINGERPRINT, 0
    for batch in batches:
        if batch.num_rows:
            total = combine(total, int(np.sum(row_hashes(batch), dtype=np.uint64)))
            rows += batch.num_rows
    yield pa.RecordBatch.from_pydict(
        {"hi": [total >> 32], "lo": [total & _LOW_MASK], "rows": [rows]},
        schema=pa.schema([("hi", pa.int64()), ("lo", pa.int64()), ("rows", pa.int64())]),
    )


def from_halves(hi: int, lo: int) -> int:
    """The unsigned partial fingerprint from its two halves."""
    return (hi << 32) | lo


def row_hash_mapper(
    hashed: Sequence[str], carried: Sequence[str]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A `mapInArrow` function emitting `carried` columns plus the hash of `hashed` columns.

    A column of `hashed` that the batch lacks hashes as all null, so that a version without a
    column compares equal to one where it is null everywhere (schema evolution adds nothing).
    """
    hashed_names = list(hashed)
    carried_names = list(carried)

    def mapper(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            present = batch.schema.names
            arrays = [
                batch.column(name) if name in present else pa.nulls(batch.num_rows)
                for name in hashed_names
            ]
            hashes = row_hashes(pa.RecordBatch.from_arrays(arrays, names=hashed_names))
            columns = [batch.column(name) for name in carried_names]
            columns.append(pa.array(hashes.view(np.int64), type=pa.int64()))
            yield pa.RecordBatch.from_arrays(columns, names=[*carried_names, HASH_COLUMN])

    return mapper
