"""The storage-engine seam: every computation the product needs, run where the data is.

Domain code talks only to `StorageEngine`. Each method names a computation (count, fingerprint,
diff, restore) rather than handing out data, so that an engine never has to collect a whole
table into one process. Tables are addressed by URI; URIs are built by `Lakehouse` from validated
table names only, never from user strings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence

import pyarrow as pa

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

Scalar = str | int | float | bool | None


class StorageEngine(ABC):
    """One Delta Lake engine. Implementations: delta-rs (default) and Spark + Delta Lake.

    Conventions every implementation keeps:
    - `commit_metadata` keys and values are strings; they appear again in
      `CommitInfo.user_metadata` of the commit they were written with.
    - `version=None` means the latest version.
    - A table whose protocol needs a feature outside `capabilities.reader_features` (to read)
      or `capabilities.writer_features` (to write or restore) raises
      `UnsupportedTableFeatureError` before anything is read or written.
    - Every public method raises only `EngineError` subclasses naming the table, the version
      and the cause, the library's exception chained (`engine.guard`); `is_restorable`
      answers `Restorability(False, reason)` instead and raises only when the store is
      unreachable.
    - No commit deletes log entries the table's current log retention keeps: delta-rs never
      cleans up the log on commit; Spark cleans up only at its log checkpoints with the
      table's own retention (which the retention rule keeps covering every pin), and refuses
      a RESTORE that would bring back a shorter one and clean up with it
      (`engine.spark.log_keeping`).
    """

    capabilities: EngineCapabilities

    @abstractmethod
    def table_exists(self, uri: str) -> bool:
        """Whether a Delta table lives at `uri`."""

    @abstractmethod
    def create_table(
        self, uri: str, schema: pa.Schema, *, properties: Mapping[str, str]
    ) -> TableState:
        """Create an empty table with `properties`; an existing table is left as it is."""

    @abstractmethod
    def append(
        self, uri: str, data: pa.Table, *, commit_metadata: Mapping[str, str] | None = None
    ) -> int:
        """Append rows in one commit; returns the new version."""

    @abstractmethod
    def overwrite(
        self,
        uri: str,
        data: pa.Table,
        *,
        properties: Mapping[str, str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Replace the table's rows (and schema) in one commit, creating it if absent."""

    @abstractmethod
    def merge_upsert(
        self,
        uri: str,
        data: pa.Table,
        *,
        key: str,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Update every column of matching keys and insert the rest, in one commit.

        Columns in `data` that the table lacks are added first (schema evolution, which may take
        one schema-only commit before the merge, keeping the table id); the table's
        columns that `data` lacks keep their values on update and are null on insert.
        """

    @abstractmethod
    def update_where(
        self,
        uri: str,
        *,
        equals: Mapping[str, Scalar],
        values: Mapping[str, Scalar],
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Set `values` on rows whose columns equal `equals`, in one commit."""

    @abstractmethod
    def add_columns(
        self,
        uri: str,
        fields: Sequence[pa.Field],
        *,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Add nullable columns in one commit (Delta schema evolution), keeping the table id.

        Existing rows read the new columns as null; fields the table already has are left as
        they are, and when every field is present nothing is committed. Returns the version.
        """

    @abstractmethod
    def read(
        self,
        uri: str,
        *,
        columns: Sequence[str] | None = None,
        equals: Mapping[str, Scalar] | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """Rows matching `equals` (all rows if None). For metadata and small reads only."""

    @abstractmethod
    def schema(self, uri: str, version: int | None = None) -> pa.Schema:
        """The table's logical schema at a version."""

    @abstractmethod
    def state(self, uri: str, version: int | None = None) -> TableState:
        """Version, commit timestamp and table id."""

    @abstractmethod
    def history(self, uri: str, *, limit: int | None = None) -> list[CommitInfo]:
        """Commits, newest first."""

    @abstractmethod
    def row_counts(self, uri: str, shape: TableShape, version: int | None = None) -> RowCounts:
        """Counts by tracking state; from log statistics only where every file has them."""

    @abstractmethod
    def fingerprint(self, uri: str, shape: TableShape, version: int | None = None) -> int:
        """The record-state fingerprint defined in `fingerprint.py`, as an unsigned 64-bit int.

        `shape` says which columns are the key and tracking columns it covers.
        """

    def counts_and_fingerprint(
        self, uri: str, shape: TableShape, version: int | None = None
    ) -> tuple[RowCounts, int]:
        """Both answers a checkpoint pins, at one exact version.

        The default asks for each; an engine that can compute both from one read overrides it.
        """
        at = self.state(uri, version).version
        return self.row_counts(uri, shape, at), self.fingerprint(uri, shape, at)

    @abstractmethod
    def duplicate_keys(
        self, uri: str, shape: TableShape, version: int | None = None, *, sample_size: int = 10
    ) -> DuplicateKeys:
        """Keys of `shape` held by more than one row at a version (null keys never are).

        Counted where the data is; only the counts and `sample_size` keys come back. A shape
        without a key, or a table without that column, has none.
        """

    @abstractmethod
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
        """Key-level, netted difference between two versions (either order).

        `unique_versions` are versions the caller knows hold each key in one row (a recorded
        validation proved it); an engine may then skip reading them to check it.

        Raises:
            DuplicateKeysError: netting per key would miscount because a key is held by more
                than one row: at either version, for an engine comparing the two versions; at
                any version of the range for a key that changed, for one netting the change
                data feed (an unchanged key is reported exactly however many rows hold it).
        """

    @abstractmethod
    def source_diff(
        self,
        uri: str,
        source_uri: str,
        shape: TableShape,
        *,
        compare_columns: Sequence[str],
    ) -> SourceDiff:
        """Compare a full extract (Parquet at `source_uri`) with the table's current rows.

        Keys the extract repeats are reported in `SourceDiff.duplicates`, and then nothing is
        compared.

        Raises:
            DuplicateKeysError: the table's current version holds a key in more than one row.
        """

    @abstractmethod
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
        """Child rows with a non-null foreign key that matches no parent key."""

    @abstractmethod
    def storage_delta(self, uri: str, from_version: int, to_version: int) -> StorageDelta:
        """Files (and bytes) that moving from one version's file set to the other's adds/drops."""

    @abstractmethod
    def restore(
        self,
        uri: str,
        version: int,
        *,
        commit_metadata: Mapping[str, str],
        compare_content: bool = True,
    ) -> RestoreResult:
        """Restore the table to `version` in one atomic commit carrying `commit_metadata`.

        No commit is written when the current file set equals the target's, nor, with
        `compare_content`, when the content fingerprints are equal (that check scans both
        versions: a caller that already knows the content differs, such as a rollback plan,
        passes False so that the restore stays a metadata-only operation).
        """

    @abstractmethod
    def vacuum(
        self,
        uri: str,
        *,
        retention_hours: int,
        dry_run: bool,
        keep_versions: Sequence[int] = (),
    ) -> VacuumResult:
        """Remove unreferenced files older than the retention; never below the table's own."""

    @abstractmethod
    def optimize(self, uri: str, *, zorder_columns: Sequence[str] = ()) -> OptimizeResult:
        """Compact small files, z-ordering by the given columns if any."""

    @abstractmethod
    def clean_up_log(self, uri: str) -> None:
        """Delete log entries older than the table's `delta.logRetentionDuration`.

        Commits never clean up the log on delta-rs, so without this the log only grows. A
        version whose entry is deleted can no longer be read or restored: the caller makes
        sure the retention covers every version a checkpoint pins first (the retention rule).
        """

    @abstractmethod
    def get_properties(self, uri: str) -> dict[str, str]:
        """The table's properties (`delta.*` and others)."""

    @abstractmethod
    def set_properties(self, uri: str, properties: Mapping[str, str]) -> int:
        """Set table properties in one commit; returns the new version."""

    @abstractmethod
    def is_restorable(self, uri: str, version: int, table_id: str) -> Restorability:
        """The log loads, every data file the version needs exists, and the id is `table_id`."""

    @abstractmethod
    def without_memory(self) -> StorageEngine:
        """An engine of the same kind and settings that remembers no earlier answer.

        Integrity proofs recompute everything from the data: an answer remembered for a
        version (counts, fingerprints, loaded snapshots) would prove only the memory.
        """
