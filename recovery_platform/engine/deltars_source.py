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
from recovery_platform.engine.values import OrphanCount, SourceDiff, TableShape

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
    table_columns = arrow_schema(dt).names
    source_side = pa.table(
        {
            "key": pc.cast(source.column(key), pa.large_string()),
            "row": pa.array(np.arange(n, dtype=np.int64)),
            "hash": pa.array(content_hashes(source, columns), type=pa.uint64()),
        }
    )
    target_side = _target_side(dt, key, columns, table_columns, shape)
    joined = source_side.join(
        target_side, keys="key", join_type="left outer", left_suffix="", right_suffix="_target"
    )
    present = pc.is_valid(joined.column("hash_target"))
    state = pc.fill_null(joined.column("state"), 0)
    differs = pc.or_(
        pc.invert(present),
        pc.fill_null(pc.not_equal(joined.column("hash"), joined.column("hash_target")), True),
    )
    touched = pc.or_(differs, pc.not_equal(state, 0))
    picked = joined.filter(touched).sort_by("row")
    state_values = picked.column("state").fill_null(0).to_numpy()
    changed = _with_target_flags(
        source.take(picked.column("row")),
        pc.is_valid(picked.column("hash_target")).to_numpy(zero_copy_only=False),
        state_values == 1,
        state_values == 2,
    )
    missing = _missing_active(dt, shape, key, source_side.column("key"), target_side)
    return SourceDiff(changed, missing, unchanged=n - changed.num_rows, source_rows=n)


def _target_side(
    dt: DeltaTable, key: str, columns: list[str], table_columns: list[str], shape: TableShape
) -> pa.Table:
    """(key, hash, state) of every keyed table row, hashed over the compared columns."""
    tracking = [c for c in (shape.deleted, shape.purged) if c is not None and c in table_columns]
    wanted = list(dict.fromkeys([key, *[c for c in columns if c in table_columns], *tracking]))
    parts = []
    for batch in iter_batches(dt, wanted):
        side = pa.table(
            {
                "key": pc.cast(batch.column(key), pa.large_string()),
                "hash_target": pa.array(content_hashes(batch, columns), type=pa.uint64()),
                "state": pa.array(row_states(batch, shape), type=pa.int8()),
            }
        )
        parts.append(side.filter(pc.is_valid(side.column("key"))))
    if not parts:
        schema = pa.schema(
            [("key", pa.large_string()), ("hash_target", pa.uint64()), ("state", pa.int8())]
        )
        return schema.empty_table()
    return pa.concat_tables(parts)


def _missing_active(
    dt: DeltaTable, shape: TableShape, key: str, source_keys: pa.ChunkedArray, target_side: pa.Table
) -> pa.Table:
    """All columns of the table's active rows whose key the source no longer has."""
    active = target_side.filter(pc.equal(target_side.column("state"), 0))
    gone = active.filter(pc.invert(pc.is_in(active.column("key"), value_set=source_keys)))
    schema = arrow_schema(dt)
    if gone.num_rows == 0:
        return schema.empty_table()
    gone_keys = pc.cast(gone.column("key"), schema.field(key).type).combine_chunks()
    batches = iter_batches(dt, row_filter=pc.field(key).isin(gone_keys))
    rows = pa.Table.from_batches(list(batches), schema=schema)
    return rows.filter(pa.array(row_states(rows, shape) == 0))


def orphan_count(
    child: DeltaTable, child_column: str, parent: DeltaTable, parent_key: str, sample_size: int
) -> OrphanCount:
    """Child rows whose non-null foreign key matches no parent row.

    Every parent row present in the table counts as a match, deleted or purged ones included:
    a soft-deleted parent still exists, and flagging its children is a separate, softer check.
    """
    parent_keys = pa.concat_arrays(
        [
            pc.cast(batch.column(parent_key), pa.large_string())
            for batch in iter_batches(parent, [parent_key])
        ]
        or [pa.array([], type=pa.large_string())]
    )
    count = 0
    orphans: set[str] = set()
    for batch in iter_batches(child, [child_column]):
        values = pc.drop_null(pc.cast(batch.column(child_column), pa.large_string()))
        missing = values.filter(pc.invert(pc.is_in(values, value_set=parent_keys)))
        count += len(missing)
        if sample_size > 0 and len(missing):
            orphans.update(str(v) for v in pc.unique(missing).to_pylist())
            orphans = set(sorted(orphans)[:sample_size])
    return OrphanCount(count=count, sample_keys=tuple(sorted(orphans)[:sample_size]))
