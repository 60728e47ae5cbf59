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

from recovery_platform.engine.deltars_diff import content_hashes, row_states
from recovery_platform.engine.deltars_table import arrow_schema, iter_batches
from recovery_platform.engine.key_index import KeyIndex, key_index, not_in_index
from recovery_platform.engine.values import OrphanCount, SourceDiff, TableShape

JOIN_KEY_TYPE = pa.string()
"""Keys are joined as 32-bit-offset strings: Acero joins them about three times faster than
large strings, and one batch's keys never approach 2 GB."""
TARGET_COLUMNS = ("_target_present", "_target_deleted", "_target_purged")


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
    dt: DeltaTable | None, source: pa.Table, shape: TableShape, compare_columns: Sequence[str]
) -> SourceDiff:
    """Source rows that are new, differ, or reappear, and active table rows the source lacks.

    `dt` is None when the table does not exist yet: then every source row is new.
    """
    if shape.key is None:
        raise ValueError("a source diff needs the table's key column")
    key = shape.key
    columns = list(compare_columns)
    n = source.num_rows
    if dt is None:
        none = np.zeros(n, dtype=bool)
        changed = _with_target_flags(source, none, none, none)
        return SourceDiff(changed, pa.table({}), unchanged=0, source_rows=n)
    source_side = pa.table(
        {
            "key": pc.cast(source.column(key), JOIN_KEY_TYPE),
            "row": pa.array(np.arange(n, dtype=np.int64)),
            "hash": pa.array(content_hashes(source, columns), type=pa.uint64()),
        }
    )
    target, target_side = _target_side(dt, key, columns, shape)
    # a full outer join answers both questions at once: source rows against the table, and
    # active table rows the source no longer has (their source row number is null)
    joined = source_side.join(
        target_side, keys="key", join_type="full outer", left_suffix="", right_suffix="_target"
    )
    from_source = joined.filter(pc.is_valid(joined.column("row")))
    present = pc.is_valid(from_source.column("hash_target"))
    state = pc.fill_null(from_source.column("state"), 0)
    differs = pc.or_(
        pc.invert(present),
        pc.fill_null(
            pc.not_equal(from_source.column("hash"), from_source.column("hash_target")), True
        ),
    )
    touched = pc.or_(differs, pc.not_equal(state, 0))
    picked = from_source.filter(touched).sort_by("row")
    state_values = picked.column("state").fill_null(0).to_numpy()
    changed = _with_target_flags(
        source.take(picked.column("row")),
        pc.is_valid(picked.column("hash_target")).to_numpy(zero_copy_only=False),
        state_values == 1,
        state_values == 2,
    )
    gone = joined.filter(
        pc.and_(pc.is_null(joined.column("row")), pc.equal(joined.column("state"), 0))
    )
    missing = target.take(gone.sort_by("target_row").column("target_row"))
    return SourceDiff(changed, missing, unchanged=n - changed.num_rows, source_rows=n)


def _target_side(
    dt: DeltaTable, key: str, columns: list[str], shape: TableShape
) -> tuple[pa.Table, pa.Table]:
    """The table's current rows (read once), and (key, hash, state, row) of its keyed rows.

    The sync writes missing rows back whole (flagged), so all columns are read; the table is
    the largest input of a nightly sync, so it is read only this once.
    """
    schema = arrow_schema(dt)
    target = pa.Table.from_batches(list(iter_batches(dt)), schema=schema)
    keys = pc.cast(target.column(key), JOIN_KEY_TYPE)
    side = pa.table(
        {
            "key": keys,
            "hash_target": pa.array(content_hashes(target, columns), type=pa.uint64()),
            "state": pa.array(row_states(target, shape), type=pa.int8()),
            "target_row": pa.array(np.arange(target.num_rows, dtype=np.int64)),
        }
    )
    return target, side.filter(pc.is_valid(keys))


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
