"""Syncing one bronze table from a full extract: classify, guard, then merge only what changed.

The engine computes the difference between the extract and the table where the data is; only
changed keys are merged, so a daily commit rewrites only files holding changed rows and storage
does not grow with retention x table size. An extract (or a table) holding a key in more than
one row is refused before anything is written: no override releases it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from recovery_platform.domain.checkpoints.history import PinKey, PinnedTable, counts_at
from recovery_platform.domain.lakehouse.fault_injection import crash_point
from recovery_platform.domain.lakehouse.lease import Lease
from recovery_platform.domain.lakehouse.location import PLATFORM_TABLE_PROPERTIES, Lakehouse
from recovery_platform.domain.lakehouse.pipeline_config import PurgeState
from recovery_platform.domain.lakehouse.table_config import (
    DELETED_COLUMN,
    LAST_SYNCED_COLUMN,
    PURGED_COLUMN,
    TableSpec,
)
from recovery_platform.engine import (
    COMMIT_METADATA_PREFIX,
    DuplicateKeys,
    DuplicateKeysError,
    SourceDiff,
)


class SyncStatus(StrEnum):
    """How one table's sync ended.

    `Held` (mass-deletion guard) and `Refused` (duplicate keys) wrote nothing; an override
    releases a held table, never a refused one.
    """

    Synced = "Synced"
    Unchanged = "Unchanged"
    Held = "Held"
    Refused = "Refused"
    Failed = "Failed"


NOT_WRITTEN = frozenset({SyncStatus.Held, SyncStatus.Refused})
"""Statuses of a sync that stopped before writing: the table is exactly as it was."""


@dataclass(frozen=True)
class SyncOverride:
    """An audited release of a held table: who approved it and why."""

    table: str
    reason: str
    approved_by: str


@dataclass(frozen=True)
class SyncClassification:
    """Counts of what a sync will do to one table, before anything is written."""

    source_rows: int
    inserted: int
    updated: int
    reactivated: int
    deleted: int
    purged: int
    unchanged: int
    active_before: int

    @property
    def deleted_share(self) -> float:
        """Share of the currently active rows this sync would newly mark deleted."""
        return self.deleted / self.active_before if self.active_before else 0.0

    @property
    def changes(self) -> int:
        """Rows the merge writes."""
        return self.inserted + self.updated + self.reactivated + self.deleted + self.purged


@dataclass(frozen=True)
class TableSyncResult:
    """The outcome of one table's sync."""

    table: str
    status: SyncStatus
    classification: SyncClassification | None
    version_before: int | None
    version_after: int | None
    purge_consumed: bool = False
    message: str = ""
    override: SyncOverride | None = None
    duplicates: DuplicateKeys | None = None
    """Keys held by more than one row, in the extract or the table, when the sync was refused."""

    @property
    def wrote_purge(self) -> bool:
        """The pending purge was applied (or found nothing to apply): it must not apply again.

        True even if the table then fails validation, since its purged rows are already written.
        """
        return self.purge_consumed and self.status in (SyncStatus.Synced, SyncStatus.Unchanged)


def _flags(table: pa.Table, name: str) -> pa.Array:
    return pc.fill_null(table.column(name), False)


def _purged_mask(missing: pa.Table, spec: TableSpec, purge: PurgeState) -> pa.Array:
    """Which missing rows a consumed purge classifies as purged (older than the cutoff)."""
    if purge.cutoff_date is None or spec.purge_cutoff_column is None:
        return pa.array([True] * missing.num_rows, pa.bool_())
    column = missing.column(spec.purge_cutoff_column)
    cutoff = pa.scalar(
        datetime(purge.cutoff_date.year, purge.cutoff_date.month, purge.cutoff_date.day),
        pa.timestamp("us"),
    )
    if pa.types.is_timestamp(column.type):
        column = pc.cast(pc.cast(column, pa.int64()), pa.timestamp("us"))
    elif pa.types.is_date(column.type):
        column = pc.cast(column, pa.timestamp("us"))
    return pc.fill_null(pc.less(column, cutoff), False)


def classify(
    diff: SourceDiff, spec: TableSpec, purge: PurgeState, sync_date: date, active_before: int
) -> tuple[SyncClassification, pa.Array]:
    """Count inserts, updates, reactivations, deletions and purges; return the purged mask."""
    changed = diff.changed
    present = _flags(changed, "_target_present")
    was_gone = pc.or_(_flags(changed, "_target_deleted"), _flags(changed, "_target_purged"))
    reactivated = pc.and_(present, was_gone)
    inserted = changed.num_rows - pc.sum(present).as_py() if changed.num_rows else 0
    n_reactivated = pc.sum(reactivated).as_py() or 0
    missing = diff.missing_active
    if purge.applies_on(sync_date):
        purged_mask = _purged_mask(missing, spec, purge)
    else:
        purged_mask = pa.array([False] * missing.num_rows, pa.bool_())
    n_purged = pc.sum(purged_mask).as_py() or 0
    return (
        SyncClassification(
            source_rows=diff.source_rows,
            inserted=int(inserted or 0),
            updated=changed.num_rows - int(inserted or 0) - n_reactivated,
            reactivated=n_reactivated,
            deleted=missing.num_rows - n_purged,
            purged=n_purged,
            unchanged=diff.unchanged,
            active_before=active_before,
        ),
        purged_mask,
    )


def build_upsert(
    diff: SourceDiff, spec: TableSpec, purged_mask: pa.Array, synced_at: datetime
) -> pa.Table:
    """The rows the merge writes: changed source rows made active, missing rows flagged."""
    schema = spec.bronze_schema()
    data = list(spec.data_columns)
    parts = []
    changed = diff.changed
    if changed.num_rows:
        n = changed.num_rows
        parts.append(_with_tracking(changed.select(data), [False] * n, [False] * n, synced_at))
    missing = diff.missing_active
    if missing.num_rows:
        purged = purged_mask.to_pylist()
        deleted = [not p for p in purged]
        parts.append(_with_tracking(missing.select(data), deleted, purged, synced_at))
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([p.cast(schema) for p in parts])


def _with_tracking(
    rows: pa.Table, deleted: list[bool], purged: list[bool], synced_at: datetime
) -> pa.Table:
    stamp = pa.array([synced_at] * rows.num_rows, pa.timestamp("us", tz="UTC"))
    return (
        rows.append_column(DELETED_COLUMN, pa.array(deleted, pa.bool_()))
        .append_column(PURGED_COLUMN, pa.array(purged, pa.bool_()))
        .append_column(LAST_SYNCED_COLUMN, stamp)
    )


def sync_table(
    lakehouse: Lakehouse,
    table: str,
    extract_uri: str,
    *,
    sync_date: date,
    synced_at: datetime,
    purge: PurgeState,
    run_id: str,
    override: SyncOverride | None = None,
    known: Mapping[PinKey, PinnedTable] | None = None,
    lease: Lease | None = None,
) -> TableSyncResult:
    """Sync one table from a full extract, holding it if it looks like a mass deletion.

    A held table is not written at all: its `_delta_log` stays as it was. The counts before
    the sync come from the pin the last sync recorded for this version (`known`), if any.
    The table's `lease` is checked right before the commit: the diff may have outlasted it.
    """
    spec = lakehouse.config.table(table)
    engine = lakehouse.engine
    uri = lakehouse.bronze_uri(table)
    if not engine.table_exists(uri):
        engine.create_table(uri, spec.bronze_schema(), properties=PLATFORM_TABLE_PROPERTIES)
    state = engine.state(uri)
    before = state.version
    counts_before = counts_at(lakehouse, table, state, known)
    active_before = counts_before.active
    try:
        diff = engine.source_diff(uri, extract_uri, spec.shape, compare_columns=spec.data_columns)
    except DuplicateKeysError as exc:
        return _refused(table, before, exc.duplicates, (
            f"sync of {table} refused: {exc}. Remove the extra rows (the table's history shows "
            f"who wrote them); the next run syncs the table again."))
    if diff.duplicates.found:
        return _refused(table, before, diff.duplicates, _duplicate_extract(spec, diff))
    counts, purged_mask = classify(diff, spec, purge, sync_date, active_before)
    purge_consumed = purge.applies_on(sync_date)
    if (
        not purge_consumed
        and counts.deleted_share > spec.mass_deletion_threshold
        and override is None
    ):
        return TableSyncResult(
            table, SyncStatus.Held, counts, before, before,
            message=(
                f"sync of {table} held: it would newly mark {counts.deleted} of "
                f"{counts.active_before} active rows deleted ({counts.deleted_share:.1%}), above "
                f"the threshold of {spec.mass_deletion_threshold:.1%}, and no purge is pending. "
                f"Nothing was written. Check the source extract; if the deletions are real, "
                f"release the table with a sync override (table, reason, approved_by)."
            ),
        )
    if counts.changes == 0:
        return TableSyncResult(
            table, SyncStatus.Unchanged, counts, before, before, purge_consumed, override=override
        )
    rows = build_upsert(diff, spec, purged_mask, synced_at)
    commit_metadata = {
        f"{COMMIT_METADATA_PREFIX}run_id": run_id,
        f"{COMMIT_METADATA_PREFIX}operation": "TableSync",
        f"{COMMIT_METADATA_PREFIX}sync_date": sync_date.isoformat(),
    }
    if lease is not None:
        lease.check()
    if counts_before.total == 0:  # nothing to match against: an append is the same, far cheaper
        after = engine.append(uri, rows, commit_metadata=commit_metadata)
    else:
        after = engine.merge_upsert(
            uri, rows, key=spec.primary_key, commit_metadata=commit_metadata
        )
    crash_point("sync.after_merge_commit")
    return TableSyncResult(
        table, SyncStatus.Synced, counts, before, after, purge_consumed, override=override
    )


def _refused(
    table: str, version: int, duplicates: DuplicateKeys, message: str
) -> TableSyncResult:
    return TableSyncResult(table, SyncStatus.Refused, None, version, version, message=message,
                           duplicates=duplicates)


def _duplicate_extract(spec: TableSpec, diff: SourceDiff) -> str:
    found = diff.duplicates
    return (
        f"sync of {spec.name} refused: the extract holds {found.repeated_keys} values of "
        f"{spec.primary_key} in more than one row ({found.extra_rows} extra rows of "
        f"{diff.source_rows}), e.g. {', '.join(found.sample_keys)}. A key must appear once: "
        f"which of its rows is the record cannot be known. Nothing was written. Fix the "
        f"extract at the source; the next run syncs the table again (no override releases it)."
    )
