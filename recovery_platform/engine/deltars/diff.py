"""Key-level difference between two versions of a table, netted per key.

A rollback plan shows what a restore will change, key by key. The change data feed answers
cheaply when it is trustworthy for the whole range; otherwise both versions are scanned (key,
tracking state and a row hash only) and compared. Both paths reduce to the same comparison of a
"before" side and an "after" side, so their answers agree.

Content is compared over the union of both versions' columns, a column a version lacks reading
as null: adding an all-null column changes no row. Rows with a null key cannot be matched and
are left out. A version holding a key in more than one row is refused (`diff_keys.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from recovery_platform.engine.deltars.diff_keys import check_feed_keys, refuse_repeated
from recovery_platform.engine.deltars.feed_range import cdf_usable
from recovery_platform.engine.deltars.table import arrow_schema, iter_batches
from recovery_platform.engine.fingerprint import row_hashes
from recovery_platform.engine.row_compare import rows_differ
from recovery_platform.engine.values import KeyDiff, TableShape

STATE_NAMES = ("active", "deleted", "purged")
_CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
Mask: TypeAlias = pa.ChunkedArray | pa.Array
"""Booleans per key, Arrow-side."""
_SIDE_SCHEMA = pa.schema([("key", pa.large_string()), ("hash", pa.uint64()), ("state", pa.int8())])


def row_states(batch: pa.RecordBatch | pa.Table, shape: TableShape) -> np.ndarray:
    """0 active, 1 deleted, 2 purged per row (purged wins; a missing or null flag is false)."""
    states = np.zeros(batch.num_rows, dtype=np.int8)
    names = batch.schema.names
    if shape.deleted is not None and shape.deleted in names:
        flags = pc.fill_null(batch.column(shape.deleted), False)
        states[flags.to_numpy(zero_copy_only=False)] = 1
    if shape.purged is not None and shape.purged in names:
        flags = pc.fill_null(batch.column(shape.purged), False)
        states[flags.to_numpy(zero_copy_only=False)] = 2
    return states


def content_hashes(batch: pa.RecordBatch | pa.Table, columns: list[str]) -> np.ndarray:
    """Row hashes over `columns`, a column the batch lacks counting as all null."""
    arrays = [
        batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows)
        for name in columns
    ]
    return row_hashes(pa.table(arrays, names=columns))


def _side_batch(
    batch: pa.RecordBatch | pa.Table, key: str, columns: list[str], shape: TableShape
) -> pa.Table:
    """Key (as text), content hash and state of each keyed row of a batch."""
    keys = pc.cast(batch.column(key), pa.large_string())
    side = pa.table(
        {
            "key": keys,
            "hash": pa.array(content_hashes(batch, columns), type=pa.uint64()),
            "state": pa.array(row_states(batch, shape), type=pa.int8()),
        }
    )
    return side.filter(pc.is_valid(side.column("key")))


def _scan_side(dt: DeltaTable, key: str, columns: list[str], shape: TableShape) -> pa.Table:
    """Every keyed row of the loaded version as (key, hash, state), streamed in batches."""
    own = arrow_schema(dt).names
    parts = [
        _side_batch(batch, key, columns, shape)
        for batch in iter_batches(dt, [c for c in columns if c in own])
    ]
    return pa.concat_tables(parts) if parts else _SIDE_SCHEMA.empty_table()


def compare_sides(
    before: pa.Table,
    after: pa.Table,
    from_version: int,
    to_version: int,
    sample_size: int,
    method: str,
) -> KeyDiff:
    """Net two (key, hash, state) sides per key into added / removed / changed counts."""
    joined = before.join(
        after, keys="key", join_type="full outer", left_suffix="_from", right_suffix="_to"
    )
    hash_from, hash_to = joined.column("hash_from"), joined.column("hash_to")
    return _netted(
        joined.column("key"),
        pc.is_valid(hash_from),
        pc.is_valid(hash_to),
        pc.fill_null(pc.not_equal(hash_from, hash_to), False),
        joined.column("state_from"),
        joined.column("state_to"),
        from_version=from_version, to_version=to_version, sample_size=sample_size, method=method,
    )


def _netted(
    keys: pa.ChunkedArray | pa.Array,
    had: Mask,
    has: Mask,
    differs: Mask,
    state_from: pa.ChunkedArray | pa.Array,
    state_to: pa.ChunkedArray | pa.Array,
    *,
    from_version: int,
    to_version: int,
    sample_size: int,
    method: str,
) -> KeyDiff:
    """The KeyDiff of keys that existed before (`had`) and after (`has`), one entry per key."""
    added_mask = pc.and_not(has, had)
    removed_mask = pc.and_not(had, has)
    both = pc.and_(had, has)
    changed_mask = pc.and_(both, differs)
    state_changes: dict[str, int] = {}
    moved = pc.and_(both, pc.fill_null(pc.not_equal(state_from, state_to), False))
    if _count(moved):
        pairs = pa.table(
            {"from": pc.filter(state_from, moved), "to": pc.filter(state_to, moved)}
        ).group_by(["from", "to"]).aggregate([([], "count_all")])
        for row in pairs.to_pylist():
            name = f"{STATE_NAMES[row['from']]}->{STATE_NAMES[row['to']]}"
            state_changes[name] = int(row["count_all"])
    return KeyDiff(
        from_version=from_version,
        to_version=to_version,
        added=_count(added_mask),
        removed=_count(removed_mask),
        changed=_count(changed_mask),
        state_changes=dict(sorted(state_changes.items())),
        sample_added=_sample(keys, added_mask, sample_size),
        sample_removed=_sample(keys, removed_mask, sample_size),
        sample_changed=_sample(keys, changed_mask, sample_size),
        method="change_data_feed" if method == "change_data_feed" else "key_scan",
    )


def _count(mask: Mask) -> int:
    return int(pc.sum(mask).as_py() or 0)


def _sample(keys: pa.ChunkedArray | pa.Array, mask: Mask, size: int) -> tuple[str, ...]:
    keys = pc.filter(keys, mask)
    if size <= 0 or len(keys) == 0:
        return ()
    ordered = pc.take(keys, pc.sort_indices(keys))
    return tuple(str(k) for k in ordered.slice(0, size).to_pylist())


def key_diff_by_scan(
    dt_from: DeltaTable,
    dt_to: DeltaTable,
    key: str,
    shape: TableShape,
    from_version: int,
    to_version: int,
    sample_size: int,
    uri: str,
) -> KeyDiff:
    """Compare both versions by scanning key, state and row hash of each."""
    columns = _union_columns(dt_from, dt_to)
    before = _scan_side(dt_from, key, columns, shape)
    after = _scan_side(dt_to, key, columns, shape)
    refuse_repeated(uri, key, ((before, from_version), (after, to_version)))
    return compare_sides(before, after, from_version, to_version, sample_size, "key_scan")


def _union_columns(first: DeltaTable, second: DeltaTable) -> list[str]:
    names = arrow_schema(first).names
    return names + [n for n in arrow_schema(second).names if n not in names]


def _cdf_batches(latest: DeltaTable, low: int, high: int) -> Iterator[pa.RecordBatch]:
    reader = latest.load_cdf(starting_version=low + 1, ending_version=high)
    yield from pa.RecordBatchReader.from_stream(reader)


def key_diff_by_cdf(
    latest: DeltaTable,
    dt_low: DeltaTable,
    dt_high: DeltaTable,
    key: str,
    shape: TableShape,
    low: int,
    high: int,
    sample_size: int,
    checked: tuple[str, bool],
) -> KeyDiff:
    """Net the change data feed of (low, high] per key: first pre-image vs last post-image.

    Per key, the first event (by version, pre-image before post-image) says whether the key
    existed at `low` and how, the last whether and how it exists at `high`; the two are
    compared column by column (`engine/row_compare.py`), so the images in between cost nothing.
    `checked` is the table's uri and whether both ends are known to hold unique keys, for
    `check_feed_keys`.
    """
    columns = _union_columns(dt_low, dt_high)
    data_parts, event_parts = [], []
    for batch in _cdf_batches(latest, low, high):
        data = _without_views(pa.Table.from_batches([batch]))
        data = data.filter(pc.is_valid(data.column(key)))
        event_parts.append(pa.table({
            "key": pc.cast(data.column(key), pa.string()),
            "version": pc.cast(data.column("_commit_version"), pa.int64()),
            "post": pc.is_in(
                pc.cast(data.column("_change_type"), pa.string()),
                value_set=pa.array(["insert", "update_postimage"]),
            ),
        }))
        data_parts.append(data.drop_columns([c for c in _CDF_COLUMNS if c in data.column_names]))
    if not event_parts:
        empty = _SIDE_SCHEMA.empty_table()
        return compare_sides(empty, empty, low, high, sample_size, "change_data_feed")
    # a change set is small: 32-bit-offset keys sort and group about 3x faster
    events = pa.concat_tables(event_parts)
    check_feed_keys(events, dt_low, key, checked[0], ends_unique=checked[1])
    order = pc.sort_indices(
        events, [("key", "ascending"), ("version", "ascending"), ("post", "ascending")]
    )
    ordered = events.take(order).append_column("ordinal", order)
    bounds = ordered.group_by("key", use_threads=False).aggregate(
        [("ordinal", "first"), ("ordinal", "last")]
    )
    data = pa.concat_tables(data_parts, promote_options="default")
    first, last = bounds.column("ordinal_first"), bounds.column("ordinal_last")
    first_post = pc.take(events.column("post"), first)
    last_post = pc.take(events.column("post"), last)
    first_rows, last_rows = data.take(first), data.take(last)
    return _netted(
        bounds.column("key"),
        pc.invert(first_post),
        last_post,
        pa.array(rows_differ(first_rows, last_rows, columns)),
        pa.array(row_states(first_rows, shape), type=pa.int8()),
        pa.array(row_states(last_rows, shape), type=pa.int8()),
        from_version=low, to_version=high, sample_size=sample_size, method="change_data_feed",
    )


def _without_views(table: pa.Table) -> pa.Table:
    """String and binary views (the change data feed's layout) as large strings and binaries.

    Arrow's `take` has no kernel for views; a change set is small, so the cast is cheap.
    """
    fields = [
        field.with_type(pa.large_string()) if pa.types.is_string_view(field.type)
        else field.with_type(pa.large_binary()) if pa.types.is_binary_view(field.type)
        else field
        for field in table.schema
    ]
    schema = pa.schema(fields, metadata=table.schema.metadata)
    return table if schema.equals(table.schema) else table.cast(schema)


def reverse(diff: KeyDiff) -> KeyDiff:
    """The same difference seen in the other direction (to -> from)."""
    swapped = {}
    for name, count in diff.state_changes.items():
        source, target = name.split("->")
        swapped[f"{target}->{source}"] = count
    return KeyDiff(
        from_version=diff.to_version,
        to_version=diff.from_version,
        added=diff.removed,
        removed=diff.added,
        changed=diff.changed,
        state_changes=dict(sorted(swapped.items())),
        sample_added=diff.sample_removed,
        sample_removed=diff.sample_added,
        sample_changed=diff.sample_changed,
        method=diff.method,
    )


def key_diff(
    latest: DeltaTable,
    dt_low: DeltaTable,
    dt_high: DeltaTable,
    key: str,
    shape: TableShape,
    from_version: int,
    to_version: int,
    sample_size: int,
    checked: tuple[str, bool],
) -> KeyDiff:
    """Diff by the change data feed where it is exact and readable, else by a key scan.

    `checked`: the table's uri and whether both versions are known to hold unique keys.
    """
    low, high = sorted((from_version, to_version))
    if cdf_usable(latest, dt_low, low, high):
        try:
            diff = key_diff_by_cdf(latest, dt_low, dt_high, key, shape, low, high, sample_size,
                                   checked)
        except (DeltaError, OSError, pa.ArrowException):
            # a file the feed needs is gone (a vacuum deleted an unpinned version's adds)
            diff = None
        if diff is not None:
            return diff if from_version <= to_version else reverse(diff)
    dt_from, dt_to = (dt_low, dt_high) if from_version <= to_version else (dt_high, dt_low)
    return key_diff_by_scan(dt_from, dt_to, key, shape, from_version, to_version, sample_size,
                            checked[0])
