"""Row counts by tracking state, from the Delta log's file statistics when they suffice.

A checkpoint records counts for every table, so they must be cheap on large tables, and exact:
the log's per-file statistics are used only when every file has them and each tracking column
holds a single value within each file (as it does after a sync that rewrites whole files).
Otherwise only the two tracking flags are scanned, null keys taken from the statistics; when
those are missing too, the key and tracking columns are scanned (`counts_of_batches`), and the
version is fingerprinted, and its duplicate keys found, in the same read. A version never
changes, so every answer is remembered for the engine's life (`VersionMemo`) and a version
already answered is not read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from recovery_platform.engine.deltars.duplicates import KeyTally, scan_duplicates
from recovery_platform.engine.deltars.table import arrow_schema, iter_batches
from recovery_platform.engine.fingerprint import EMPTY_FINGERPRINT, combine, fingerprint_batches
from recovery_platform.engine.values import (
    DUPLICATE_SAMPLE_SIZE,
    NO_DUPLICATES,
    DuplicateKeys,
    RowCounts,
    TableShape,
)
from recovery_platform.engine.version_memo import VersionMemo


def _stat_names(dt: DeltaTable) -> dict[str, str]:
    """Logical column name -> the name used in the log's statistics (physical under mapping)."""
    names: dict[str, str] = {}
    for field in dt.schema().fields:
        physical = field.metadata.get("delta.columnMapping.physicalName")
        names[field.name] = str(physical) if physical else field.name
    return names


class _Stats:
    """Per-file statistics of one version, as Python lists keyed by flattened column name."""

    def __init__(self, dt: DeltaTable) -> None:
        actions = pa.table(dt.get_add_actions(flatten=True))
        self.columns: dict[str, list[Any]] = {
            name: actions.column(name).to_pylist() for name in actions.column_names
        }
        self.files = actions.num_rows
        self.partitions = set(dt.metadata().partition_columns)
        self.stat_names = _stat_names(dt)

    def get(self, prefix: str, column: str) -> list[Any] | None:
        """One statistic for every file, or None if any file lacks it."""
        values = self.columns.get(f"{prefix}.{self.stat_names.get(column, column)}")
        if values is None or any(value is None for value in values):
            return None
        return values

    def null_counts(self, column: str, records: list[int]) -> list[int] | None:
        """Nulls per file; partition columns are uniform by construction."""
        if column in self.partitions:
            values = self.columns.get(f"partition.{column}")
            if values is None:
                return None
            return [n if value is None else 0 for value, n in zip(values, records, strict=True)]
        return self.get("null_count", column)

    def flags(self, column: str, records: list[int]) -> list[bool] | None:
        """Each file's single value of a boolean column (null counts as false), or None.

        None when any file mixes values, lacks statistics, or the column is not boolean.
        """
        if column in self.partitions:
            values = self.columns.get(f"partition.{column}")
            if values is None:
                return None
            return [str(value).lower() == "true" for value in values]
        nulls = self.get("null_count", column)
        if nulls is None:
            return None
        minima = self.columns.get(f"min.{self.stat_names.get(column, column)}")
        maxima = self.columns.get(f"max.{self.stat_names.get(column, column)}")
        result: list[bool] = []
        for i, (n, nulls_in_file) in enumerate(zip(records, nulls, strict=True)):
            if nulls_in_file == n:
                result.append(False)
                continue
            if nulls_in_file != 0 or minima is None or maxima is None:
                return None
            low, high = minima[i], maxima[i]
            if low is None or low != high or not isinstance(low, bool):
                return None
            result.append(low)
        return result


def _file_flags(
    stats: _Stats, column: str | None, names: set[str], records: list[int]
) -> list[bool] | None:
    """A tracking column's value per file; all false when the table has no such column."""
    if column is None or column not in names:
        return [False] * len(records)
    return stats.flags(column, records)


def counts_without_key_scan(dt: DeltaTable, shape: TableShape) -> RowCounts | None:
    """Counts that need no read of the key column, or None when the key must be read.

    Exact from the per-file statistics when every tracking flag is uniform within each file;
    else from a scan of the two flags alone (a fraction of reading the key), null keys taken
    from the statistics. None when the statistics lack record or key null counts, or mixed
    flags leave nothing but the key to read.
    """
    stats = _Stats(dt)
    if stats.files == 0:
        return RowCounts(0, 0, 0, 0, 0, 0, method="log_stats")
    records = stats.columns.get("num_records")
    if records is None or any(value is None for value in records):
        return None
    names = set(arrow_schema(dt).names)
    null_keys = 0
    if shape.key is not None and shape.key in names:
        key_nulls = stats.null_counts(shape.key, records)
        if key_nulls is None:
            return None
        null_keys = sum(key_nulls)
    deleted = _file_flags(stats, shape.deleted, names, records)
    purged = _file_flags(stats, shape.purged, names, records)
    if deleted is None or purged is None:
        return _flag_scan(dt, shape, names, null_keys)
    counts = {"active": 0, "deleted": 0, "purged": 0, "both": 0}
    for n, is_deleted, is_purged in zip(records, deleted, purged, strict=True):
        state = (
            "both"
            if is_deleted and is_purged
            else "deleted"
            if is_deleted
            else "purged"
            if is_purged
            else "active"
        )
        counts[state] += n
    return RowCounts(
        total=sum(records),
        active=counts["active"],
        deleted=counts["deleted"],
        purged=counts["purged"],
        null_keys=null_keys,
        both_flags=counts["both"],
        method="log_stats",
    )


def _flag_scan(
    dt: DeltaTable, shape: TableShape, names: set[str], null_keys: int
) -> RowCounts | None:
    """Counts from a scan of the tracking flags alone; None when the table has none."""
    flags = [c for c in (shape.deleted, shape.purged) if c is not None and c in names]
    if not flags:
        return None
    counts = counts_of_batches(iter_batches(dt, flags), replace(shape, key=None), set(flags))
    return replace(counts, null_keys=null_keys)


def _true_mask(batch: pa.RecordBatch, column: str | None) -> pa.Array:
    """Where a tracking column is true (null or absent counts as false)."""
    if column is None:
        return pa.array([False] * batch.num_rows, type=pa.bool_())
    return pc.fill_null(batch.column(column), False)


def counts_of_batches(
    batches: Iterable[pa.RecordBatch], shape: TableShape, names: set[str]
) -> RowCounts:
    """Counts over batches that hold (at least) the key and tracking columns in `names`."""
    key = shape.key if shape.key in names else None
    deleted_column = shape.deleted if shape.deleted in names else None
    purged_column = shape.purged if shape.purged in names else None
    total = active = deleted = purged = null_keys = both = 0
    for batch in batches:
        total += batch.num_rows
        if key is not None:
            null_keys += batch.column(key).null_count
        is_deleted = _true_mask(batch, deleted_column)
        is_purged = _true_mask(batch, purged_column)
        both_mask = pc.and_(is_deleted, is_purged)
        both += pc.sum(both_mask).as_py() or 0
        deleted += pc.sum(pc.and_not(is_deleted, is_purged)).as_py() or 0
        purged += pc.sum(pc.and_not(is_purged, is_deleted)).as_py() or 0
        active += pc.sum(pc.invert(pc.or_(is_deleted, is_purged))).as_py() or 0
    return RowCounts(
        total=total,
        active=active,
        deleted=deleted,
        purged=purged,
        null_keys=null_keys,
        both_flags=both,
        method="scan",
    )


def remembered_counts(memo: VersionMemo, uri: str, dt: DeltaTable, shape: TableShape) -> RowCounts:
    """Counts of a loaded version: remembered, else from exact statistics, else scanned."""
    table_id, at = str(dt.metadata().id), dt.version()
    remembered = memo.recall(uri, table_id, at, ("counts", shape))
    if isinstance(remembered, RowCounts):
        return remembered
    without_key = counts_without_key_scan(dt, shape)
    if without_key is not None:
        return memo.get_or_compute(uri, table_id, at, ("counts", shape), lambda: without_key)
    return scan_and_remember(memo, uri, dt, shape)[0]


def remembered_fingerprint(
    memo: VersionMemo, uri: str, dt: DeltaTable, shape: TableShape
) -> int | None:
    """The fingerprint of a loaded version if it was already computed, else None."""
    remembered = memo.recall(uri, str(dt.metadata().id), dt.version(), ("fingerprint", shape))
    return remembered if isinstance(remembered, int) else None


def scan_and_remember(
    memo: VersionMemo, uri: str, dt: DeltaTable, shape: TableShape
) -> tuple[RowCounts, int]:
    """Count, fingerprint and find duplicate keys of a loaded version in one read; remember all."""
    table_id, at = str(dt.metadata().id), dt.version()
    scanned, fingerprint, duplicates = _scan(dt, shape)
    counts = memo.get_or_compute(uri, table_id, at, ("counts", shape), lambda: scanned)
    memo.get_or_compute(uri, table_id, at, ("fingerprint", shape), lambda: fingerprint)
    memo.get_or_compute(uri, table_id, at, _duplicates_question(shape, DUPLICATE_SAMPLE_SIZE),
                        lambda: duplicates)
    return counts, fingerprint


def _duplicates_question(shape: TableShape, sample_size: int) -> tuple[object, ...]:
    return ("duplicates", shape.key, sample_size)


def remembered_counts_and_fingerprint(
    memo: VersionMemo, uri: str, dt: DeltaTable, shape: TableShape
) -> tuple[RowCounts, int]:
    """Counts and fingerprint of a loaded version: remembered, else from one read of both."""
    remembered = remembered_fingerprint(memo, uri, dt, shape)
    if remembered is not None:
        return remembered_counts(memo, uri, dt, shape), remembered
    return scan_and_remember(memo, uri, dt, shape)


def mark_written(memo: VersionMemo, uri: str, dt: DeltaTable) -> int:
    """Remember that this engine committed the loaded (latest) version; returns the version."""
    memo.get_or_compute(uri, str(dt.metadata().id), dt.version(), "written", lambda: True)
    return dt.version()


def remembered_duplicates(
    memo: VersionMemo, uri: str, dt: DeltaTable, shape: TableShape, sample_size: int
) -> DuplicateKeys:
    """Duplicate keys of a loaded version: remembered, else found by reading its keys.

    A version this engine committed (`mark_written`) and has not fingerprinted yet is about to
    be pinned (a sync checkpoints every version it writes): it is read once for its counts,
    fingerprint and duplicate keys together (`scan_and_remember`), where a pin would read it
    anyway. Any other version's key column is read alone, which costs less than the pin's read.
    """
    table_id, at = str(dt.metadata().id), dt.version()
    question = _duplicates_question(shape, sample_size)
    remembered = memo.recall(uri, table_id, at, question)
    if isinstance(remembered, DuplicateKeys):
        return remembered
    key = shape.key if shape.key in arrow_schema(dt).names else None
    if key is None:
        return NO_DUPLICATES
    written = memo.recall(uri, table_id, at, "written") is not None
    if (written and sample_size == DUPLICATE_SAMPLE_SIZE
            and remembered_fingerprint(memo, uri, dt, shape) is None):
        scan_and_remember(memo, uri, dt, shape)
        remembered = memo.recall(uri, table_id, at, question)
        if isinstance(remembered, DuplicateKeys):
            return remembered
    return memo.get_or_compute(uri, table_id, at, question,
                               lambda: scan_duplicates(dt, key, sample_size))


def known_unique(memo: VersionMemo, uri: str, dt: DeltaTable, shape: TableShape) -> bool:
    """Whether the version's keys are remembered to be unique (False when not known)."""
    question = _duplicates_question(shape, DUPLICATE_SAMPLE_SIZE)
    remembered = memo.recall(uri, str(dt.metadata().id), dt.version(), question)
    return isinstance(remembered, DuplicateKeys) and not remembered.found


def _scan(dt: DeltaTable, shape: TableShape) -> tuple[RowCounts, int, DuplicateKeys]:
    """Counts, record-state fingerprint and duplicate keys of a loaded version from one read.

    The fingerprint's columns include the key and tracking columns the counts need, so each
    batch is hashed, counted and its keys tallied as it passes.
    """
    names = arrow_schema(dt).names
    fingerprint = EMPTY_FINGERPRINT
    tally = KeyTally(shape.key if shape.key in names else None)

    def hashed(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        nonlocal fingerprint
        for batch in batches:
            fingerprint = combine(fingerprint, fingerprint_batches([batch]))
            tally.add(batch)
            yield batch

    covered = shape.record_state_columns(names)
    counts = counts_of_batches(hashed(iter_batches(dt, covered)), shape, set(names))
    return counts, fingerprint, tally.result(dt, DUPLICATE_SAMPLE_SIZE)
