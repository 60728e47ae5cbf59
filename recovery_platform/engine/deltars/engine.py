"""The delta-rs engine: the default `StorageEngine`, running in-process on one machine.

Each method opens the table through `open_table`, which refuses tables whose protocol needs a
feature outside the engine's allowlist (`table.READER_FEATURES` / `WRITER_FEATURES`) before
anything is touched: delta-rs would silently return rows deleted by deletion vectors, and
commit to tables whose identity columns or row tracking it does not maintain.
The heavier computations live in the sibling modules; loaded versions are kept and reused by
`snapshots.TableSnapshots`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import pyarrow as pa
from deltalake import DeltaTable

from recovery_platform.engine.deltars import maintenance, writes
from recovery_platform.engine.deltars.counts import (
    known_unique,
    mark_written,
    remembered_counts,
    remembered_counts_and_fingerprint,
    remembered_duplicates,
)
from recovery_platform.engine.deltars.diff import key_diff
from recovery_platform.engine.deltars.errors import translate
from recovery_platform.engine.deltars.snapshots import TableSnapshots
from recovery_platform.engine.deltars.source import (
    KEY_INDEXES_KEPT,
    orphan_count,
    parent_keys,
    read_source,
    source_diff,
)
from recovery_platform.engine.deltars.table import (
    KEEP_LOG,
    READER_FEATURES,
    WRITER_FEATURES,
    arrow_schema,
    commit_properties,
    history,
    identifier,
    read_table,
    table_state,
)
from recovery_platform.engine.guard import guard_operations
from recovery_platform.engine.interface import Scalar, StorageEngine
from recovery_platform.engine.retention_properties import check_retention
from recovery_platform.engine.values import (
    CommitInfo,
    DuplicateKeys,
    EngineCapabilities,
    KeyDiff,
    OptimizeResult,
    OrphanCount,
    Restorability,
    RestoreResult,
    RowCounts,
    SourceDiff,
    StorageDelta,
    TableShape,
    TableState,
    VacuumResult,
)
from recovery_platform.engine.version_memo import VersionMemo

__all__ = ["DeltaRsEngine"]

@guard_operations(translate)
class DeltaRsEngine(StorageEngine):
    """Delta Lake through delta-rs (the `deltalake` package), for tables one machine can scan.

    Args:
        storage_options: object-store options passed to delta-rs (credentials, endpoints);
            None or empty for local folders.
    """

    capabilities = EngineCapabilities(
        name="deltars",
        reader_features=READER_FEATURES,
        writer_features=WRITER_FEATURES,
        vacuum_keep_versions=True,
        restore_commit_metadata=True,
        concurrent_restores=True,
        parallel_tables=True,
        requires_in_process_executor=False,
    )

    def __init__(self, storage_options: Mapping[str, str] | None = None) -> None:
        self._options: dict[str, str] | None = dict(storage_options) if storage_options else None
        self._memo = VersionMemo()
        # a parent's key index serves each of its children; a few versions' worth is enough
        self._key_indexes = VersionMemo(capacity=KEY_INDEXES_KEPT)
        self._snapshots = TableSnapshots(self._options)

    def without_memory(self) -> DeltaRsEngine:
        """A new engine with the same storage options and empty memos."""
        return DeltaRsEngine(self._options)

    def _open(self, uri: str, version: int | None = None) -> DeltaTable:
        """A version for reading, shared: never moved nor written through."""
        return self._snapshots.to_read(uri, version)

    def _open_to_write(self, uri: str) -> DeltaTable:
        """A fresh load of the latest version, of the caller's own, to write through."""
        return self._snapshots.to_write(uri)

    def _version_after_write(self, uri: str) -> int:
        return mark_written(self._memo, uri, self._open(uri))

    def table_exists(self, uri: str) -> bool:
        """Whether a Delta table lives at `uri`."""
        return DeltaTable.is_deltatable(uri, storage_options=self._options)

    def create_table(
        self, uri: str, schema: pa.Schema, *, properties: Mapping[str, str]
    ) -> TableState:
        """Create an empty table with `properties`; an existing table is left as it is.

        delta-rs accepts only `delta.*` keys at creation, so other properties are set in a
        second commit right after it.
        """
        if not self.table_exists(uri):
            custom = writes.create_table(uri, schema, properties, self._options)
            if custom:
                self.set_properties(uri, custom)
        return self.state(uri)

    def append(
        self, uri: str, data: pa.Table, *, commit_metadata: Mapping[str, str] | None = None
    ) -> int:
        """Append rows in one commit (creating the table if absent); returns the new version."""
        if self.table_exists(uri):
            self._open_to_write(uri)
        writes.append(uri, data, commit_metadata, self._options)
        return self._version_after_write(uri)

    def overwrite(
        self,
        uri: str,
        data: pa.Table,
        *,
        properties: Mapping[str, str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Replace the table's rows and schema in one commit, creating it if absent.

        `properties` go into the same commit for `delta.*` keys of a new table; other keys,
        and any properties of an existing table, are set in a following commit.
        """
        exists = self.table_exists(uri)
        if exists:
            self._open_to_write(uri)
        later = writes.overwrite(uri, data, exists=exists, properties=properties,
                                 commit_metadata=commit_metadata, storage_options=self._options)
        if later:
            self.set_properties(uri, later)
        return self._version_after_write(uri)

    def merge_upsert(
        self,
        uri: str,
        data: pa.Table,
        *,
        key: str,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Update every column of matching keys and insert the rest, in one commit.

        A table that does not exist yet is created from `data` (one write commit). New columns
        are added first by one ALTER commit (see `writes.merge_upsert`).
        """
        identifier(key)  # an unusable key is refused before anything is written
        if not self.table_exists(uri):
            return self.append(uri, data, commit_metadata=commit_metadata)
        writes.merge_upsert(self._open_to_write(uri), data, key, commit_metadata)
        return self._version_after_write(uri)

    def update_where(
        self,
        uri: str,
        *,
        equals: Mapping[str, Scalar],
        values: Mapping[str, Scalar],
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Set `values` on rows whose columns equal `equals`, in one commit.

        The SQL text is built only from validated identifiers and escaped typed literals.
        """
        predicate, updates = writes.update_clauses(equals, values)
        dt = self._open_to_write(uri)
        dt.update(
            updates=updates,
            predicate=predicate,
            commit_properties=commit_properties(commit_metadata),
            post_commithook_properties=KEEP_LOG,
        )
        return self._version_after_write(uri)

    def add_columns(
        self,
        uri: str,
        fields: Sequence[pa.Field],
        *,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Add nullable columns in one commit (ALTER TABLE ADD COLUMNS keeps the table id)."""
        if not writes.add_columns(self._open_to_write(uri), list(fields), commit_metadata):
            return self.state(uri).version
        return self._version_after_write(uri)

    def read(
        self,
        uri: str,
        *,
        columns: Sequence[str] | None = None,
        equals: Mapping[str, Scalar] | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """Rows matching `equals` (all rows if None). For metadata and small reads only."""
        dt = self._open(uri, version)
        return read_table(dt, columns, equals)

    def schema(self, uri: str, version: int | None = None) -> pa.Schema:
        """The table's logical schema at a version."""
        return arrow_schema(self._open(uri, version))

    def state(self, uri: str, version: int | None = None) -> TableState:
        """Version, commit timestamp and table id."""
        latest = self._open(uri)
        dt = latest if version is None else self._open(uri, version)
        return table_state(uri, latest, dt, version)

    def history(self, uri: str, *, limit: int | None = None) -> list[CommitInfo]:
        """Commits, newest first."""
        return history(self._open(uri), limit)

    def row_counts(self, uri: str, shape: TableShape, version: int | None = None) -> RowCounts:
        """Counts by tracking state; from log statistics only where they are exact.

        Without exact statistics the tracking flags are scanned, null keys taken from the
        statistics; without those either, the key and tracking columns are scanned, which also
        fingerprints the version and finds its duplicate keys (all answers are remembered).
        """
        return remembered_counts(self._memo, uri, self._open(uri, version), shape)

    def fingerprint(self, uri: str, shape: TableShape, version: int | None = None) -> int:
        """The record-state fingerprint of a version, streamed batch by batch."""
        return self.counts_and_fingerprint(uri, shape, version)[1]

    def counts_and_fingerprint(
        self, uri: str, shape: TableShape, version: int | None = None
    ) -> tuple[RowCounts, int]:
        """Counts and fingerprint from one streamed read of the covered columns (remembered)."""
        return remembered_counts_and_fingerprint(self._memo, uri, self._open(uri, version), shape)

    def duplicate_keys(
        self, uri: str, shape: TableShape, version: int | None = None, *, sample_size: int = 10
    ) -> DuplicateKeys:
        """Keys held by more than one row, from hashes of the keys (remembered per version).

        A version this engine committed is read once for its counts, fingerprint and duplicate
        keys together, since it is about to be pinned; another version's keys are read alone.
        """
        dt = self._open(uri, version)
        return remembered_duplicates(self._memo, uri, dt, shape, sample_size)

    def key_diff(
        self,
        uri: str,
        shape: TableShape,
        from_version: int,
        to_version: int,
        *,
        sample_size: int = 10,
        unique_versions: Collection[int] = (),
    ) -> KeyDiff:
        """Key-level, netted difference between two versions (either order)."""
        if shape.key is None:
            raise ValueError("a key diff needs the table's key column")
        latest = self._open(uri)
        low, high = sorted((from_version, to_version))
        dt_low, dt_high = self._open(uri, low), self._open(uri, high)
        unique = all(dt.version() in unique_versions or known_unique(self._memo, uri, dt, shape)
                     for dt in (dt_low, dt_high))
        return key_diff(latest, dt_low, dt_high, shape.key, shape, from_version, to_version,
                        sample_size, (uri, unique))

    def source_diff(
        self,
        uri: str,
        source_uri: str,
        shape: TableShape,
        *,
        compare_columns: Sequence[str],
    ) -> SourceDiff:
        """Compare a full extract (Parquet at `source_uri`) with the table's current rows."""
        dt = self._open(uri) if self.table_exists(uri) else None
        return source_diff(dt, read_source(source_uri), shape, compare_columns, uri)

    def orphan_count(
        self,
        child_uri: str,
        child_column: str,
        parent_uri: str,
        parent_key: str,
        *,
        child_version: int | None = None,
        parent_version: int | None = None,
        sample_size: int = 10,
    ) -> OrphanCount:
        """Child rows whose non-null foreign key matches no parent row (deleted ones count)."""
        child = self._open(child_uri, child_version)
        parent = self._open(parent_uri, parent_version)
        parents = self._key_indexes.get_or_compute(
            parent_uri, str(parent.metadata().id), parent.version(), ("keys", parent_key),
            lambda: parent_keys(parent, parent_key),
        )
        return orphan_count(child, child_column, parents, sample_size)

    def storage_delta(self, uri: str, from_version: int, to_version: int) -> StorageDelta:
        """Files (and bytes) that moving from one version's file set to the other's adds/drops."""
        return maintenance.storage_delta(self._open(uri, from_version), self._open(uri, to_version))

    def restore(
        self,
        uri: str,
        version: int,
        *,
        commit_metadata: Mapping[str, str],
        compare_content: bool = True,
    ) -> RestoreResult:
        """Restore to `version` in one commit; no commit at all when already there."""
        return maintenance.restore(
            uri, version, commit_metadata, self._options, compare_content=compare_content
        )

    def vacuum(
        self,
        uri: str,
        *,
        retention_hours: int,
        dry_run: bool,
        keep_versions: Sequence[int] = (),
    ) -> VacuumResult:
        """Remove unreferenced files older than the retention; never below 168 hours."""
        check_retention(retention_hours)
        return maintenance.vacuum(self._open_to_write(uri), retention_hours, dry_run, keep_versions)

    def optimize(self, uri: str, *, zorder_columns: Sequence[str] = ()) -> OptimizeResult:
        """Compact small files, z-ordering by the given columns if any."""
        return maintenance.optimize(uri, self._open_to_write(uri), zorder_columns, self._options)

    def clean_up_log(self, uri: str) -> None:
        """Delete expired log entries (delta-rs `cleanup_metadata`, by the table's retention)."""
        self._open_to_write(uri).cleanup_metadata()

    def get_properties(self, uri: str) -> dict[str, str]:
        """The table's properties (`delta.*` and others)."""
        return dict(self._open(uri).metadata().configuration)

    def set_properties(self, uri: str, properties: Mapping[str, str]) -> int:
        """Set table properties in one commit; returns the new version."""
        dt = self._open_to_write(uri)
        dt.alter.set_table_properties(
            dict(properties), raise_if_not_exists=False, post_commithook_properties=KEEP_LOG
        )
        return dt.version()  # the alterer moves `dt` to the version it committed

    def is_restorable(self, uri: str, version: int, table_id: str) -> Restorability:
        """The log loads, every data file the version needs exists, and the id is `table_id`."""
        return maintenance.is_restorable(uri, version, table_id, self._options)
