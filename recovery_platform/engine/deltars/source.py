"""Comparisons of a table with something else: a source extract, or a parent table.

The daily sync needs only the rows it must touch, and referential checks need only the orphans,
so both are computed from keys and row hashes without materialising the table's full rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable

from recovery_platform.engine.deltars.diff import row_states
from recovery_platform.engine.deltars.duplicates import duplicates_in
from recovery_platform.engine.deltars.table import arrow_schema, iter_batches
from recovery_platform.engine.errors import DuplicateKeysError
from recovery_platform.engine.key_index import KeyIndex, key_index, not_in_index
from recovery_platform.engine.row_compare import rows_differ
from recovery_platform.engine.values import (
    DUPLICATE_SAMPLE_SIZE,
    NO_DUPLICATES,
    DuplicateKeys,
    OrphanCount,
    SourceDiff,
    TableShape,
)

JOIN_KEY_TYPE = pa.string()
"""Keys are joined as 32-bit-offset strings: Acero joins them about three times faster than
large strings, and one batch's keys never approach 2 GB."""
TARGET_COLUMNS = ("_target_present", "_target_deleted", "_target_purged")
KEY_INDEXES_KEPT = 24
"""Parent key indexes kept per engine (about 10 MB each for 200,000 GUID keys, so at most about
240 MB): a nightly sync checks each parent's children in the next dependency wave, after every
parent of that wave was indexed."""


def read_source(source_uri: str) -> pa.Table:
    """A full extract: one Parquet file or a directory of Parquet files."""
    return ds.dataset(source_uri, format="parquet").to_table()


def _with_target_flags(
    rows: pa.Table, present: np.ndarray, deleted: np.ndarray, purged: np.ndarray
) -> pa.Table:
    for name, values in zip(TARGET_COLUMNS, (present, deleted, purged), strict=True):
        rows = rows.append_column(name, pa.array(values, type=pa.bool_()))
    return rows


def source_diff(
    dt: DeltaTable | None,
    source: pa.Table,
    shape: TableShape,
    compare_columns: Sequence[str],
    uri: str,
) -> SourceDiff:
    """Source rows that are new, differ, or reappear, and active table rows the source lacks.

    `dt` is None when the table does not exist yet: then every source row is new. One full
    outer join on the key pairs source rows with table rows and finds the active table rows the
    source no longer has; paired rows are then compared column by column
    (`engine/row_compare.py`), which is exact and far cheaper than hashing both sides. The
    table is read whole, once: missing rows are written back whole (flagged). Keys must be
    unique on both sides, or one row would silently pair with several (`_repeated`): a source
    repeating a key is reported and not compared, a table repeating one raises
    `DuplicateKeysError`.
    """
    if shape.key is None:
        raise ValueError("a source diff needs the table's key column")
    key = shape.key
    n = source.num_rows
    if dt is None:
        repeated = duplicates_in([source.column(key)], DUPLICATE_SAMPLE_SIZE)
        if repeated.found:
            return _not_compared(source, repeated)
        none = np.zeros(n, dtype=bool)
        changed = _with_target_flags(source, none, none, none)
        return SourceDiff(changed, pa.table({}), unchanged=0, source_rows=n)
    target = pa.Table.from_batches(list(iter_batches(dt)), schema=arrow_schema(dt))
    joined = _join_on_key(source, target, key)
    paired = joined.filter(pc.is_valid(joined.column("row"))).sort_by("row")
    repeated = _repeated(source, target, key, joined, paired, (uri, dt.version()))
    if repeated.found:
        return _not_compared(source, repeated)
    states = row_states(target, shape)
    at = paired.column("target_row")  # null where the table has no row with this key
    present = pc.is_valid(at).to_numpy(zero_copy_only=False)
    state = np.zeros(len(present), dtype=np.int8)
    state[present] = states[pc.drop_null(at).to_numpy()]
    # each source row pairs with at most one table row (keys are unique on both sides, checked
    # above): `paired` is then the source itself, in order, and needs no copy
    paired_source = source if paired.num_rows == n else source.take(paired.column("row"))
    differs = ~present | rows_differ(paired_source, target.take(at), compare_columns)
    touched = differs | (state != 0)
    changed = _with_target_flags(
        paired_source.filter(pa.array(touched)),
        present[touched],
        state[touched] == 1,
        state[touched] == 2,
    )
    gone = joined.filter(pc.is_null(joined.column("row"))).column("target_row").to_numpy()
    gone = np.sort(gone[states[gone] == 0])
    missing = target.take(pa.array(gone, type=pa.int64()))
    return SourceDiff(changed, missing, unchanged=n - changed.num_rows, source_rows=n)


def _not_compared(source: pa.Table, repeated: DuplicateKeys) -> SourceDiff:
    """The answer for a source repeating a key: nothing compared, nothing to write."""
    none = np.zeros(0, dtype=bool)
    changed = _with_target_flags(source.slice(0, 0), none, none, none)
    return SourceDiff(changed, pa.table({}), unchanged=0, source_rows=source.num_rows,
                      duplicates=repeated)


def _repeated(
    source: pa.Table,
    target: pa.Table,
    key: str,
    joined: pa.Table,
    paired: pa.Table,
    table_version: tuple[str, int],
) -> DuplicateKeys:
    """Keys the source repeats (returned); keys the table repeats raise `DuplicateKeysError`.

    Found from the join, without hashing every key: a key the table holds twice pairs a source
    row with two table rows, or leaves both table rows unpaired; a key the source holds twice
    pairs both its rows with one table row, or leaves both unpaired. Only the unpaired rows'
    keys are compared; a whole key column is examined only to report what was found.
    """
    unpaired = joined.filter(pc.is_null(joined.column("row"))).column("target_row")
    if paired.num_rows > source.num_rows or duplicates_in(
            [target.column(key).take(unpaired)], 0).found:
        held = duplicates_in([target.column(key)], DUPLICATE_SAMPLE_SIZE)
        raise DuplicateKeysError(table_version[0], table_version[1], key, held)
    matched = pc.drop_null(paired.column("target_row")).to_numpy()
    new = paired.filter(pc.is_null(paired.column("target_row"))).column("row")
    if (len(matched) and int(np.bincount(matched).max()) > 1) or duplicates_in(
            [source.column(key).take(new)], 0).found:
        return duplicates_in([source.column(key)], DUPLICATE_SAMPLE_SIZE)
    return NO_DUPLICATES


def _join_on_key(source: pa.Table, target: pa.Table, key: str) -> pa.Table:
    """(row, target_row) pairs of a full outer join on the key; null-keyed table rows left out.

    A source row without a match has a null `target_row`; a table row without one a null `row`.
    """
    source_keys, target_keys = byte_keys(source.column(key), target.column(key))
    source_side = pa.table({"key": source_keys, "row": np.arange(source.num_rows, dtype=np.int64)})
    target_side = pa.table({
        "key": target_keys, "target_row": np.arange(target.num_rows, dtype=np.int64),
    }).filter(pc.is_valid(target_keys))
    return source_side.join(target_side, keys="key", join_type="full outer")


def byte_keys(*columns: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    """Key columns as bytes for joining: equal keys, equal bytes, whatever their Arrow type.

    Acero joins binary keys about twice as fast as strings, and fixed-width ones (GUIDs) about
    three times as fast, so when every non-null key of every column has one byte width they
    are joined as `fixed_size_binary` of that width.
    """
    keys = [_combined(pc.cast(pc.cast(c, JOIN_KEY_TYPE), pa.binary())) for c in columns]
    widths = [pc.min_max(pc.binary_length(k)) for k in keys if k.null_count < len(k)]
    lows = {w["min"].as_py() for w in widths}
    highs = {w["max"].as_py() for w in widths}
    if len(lows) == 1 and lows == highs and 0 < (width := lows.pop()):
        return [pc.cast(k, pa.binary(width)) for k in keys]
    return keys


def _combined(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    return column


def orphan_count(
    child: DeltaTable, child_column: str, parents: KeyIndex, sample_size: int
) -> OrphanCount:
    """Child rows whose non-null foreign key matches no parent row.

    Every parent row present in the table counts as a match, deleted or purged ones included:
    a soft-deleted parent still exists, and flagging its children is a separate, softer check.
    """
    missing = not_in_index(_column_values(child, child_column), parents)
    samples: list[str] = []
    if sample_size > 0 and len(missing):
        samples = sorted(str(v) for v in pc.unique(missing).to_pylist())[:sample_size]
    return OrphanCount(count=len(missing), sample_keys=tuple(samples))


def parent_keys(parent: DeltaTable, parent_key: str) -> KeyIndex:
    """The key index of a parent version (built once per version by the engine)."""
    return key_index(_column_values(parent, parent_key))


def _column_values(dt: DeltaTable, column: str) -> pa.Array:
    """One column of the loaded version as a single array of join-key strings."""
    parts = [pc.cast(batch.column(column), JOIN_KEY_TYPE) for batch in iter_batches(dt, [column])]
    if not parts:
        return pa.array([], type=JOIN_KEY_TYPE)
    return pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
