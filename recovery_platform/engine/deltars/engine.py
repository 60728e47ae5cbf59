"""The delta-rs engine: the default `StorageEngine`, running in-process on one machine.

Each method opens the table through `open_table`, which refuses tables with deletion vectors
before anything is touched (delta-rs's pyarrow reads would silently return deleted rows).
The heavier computations live in the sibling `deltars_*` modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
from deltalake import ColumnProperties, DeltaTable, Schema, WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError

from recovery_platform.engine.deltars import maintenance
from recovery_platform.engine.deltars.counts import counts_of_batches, counts_without_key_scan
from recovery_platform.engine.deltars.diff import (
    cdf_usable,
    key_diff_by_cdf,
    key_diff_by_scan,
    reverse,
)
from recovery_platform.engine.deltars.source import (
    orphan_count,
    parent_keys,
    read_source,
    source_diff,
)
from recovery_platform.engine.deltars.table import (
    arrow_schema,
    commit_marker,
    commit_properties,
    equality_predicate,
    history,
    identifier,
    iter_batches,
    literal,
    local_log_dir,
    open_table,
    read_table,
)
from recovery_platform.engine.errors import VersionNotAvailableError
from recovery_platform.engine.fingerprint import EMPTY_FINGERPRINT, combine, fingerprint_batches
from recovery_platform.engine.interface import Scalar, StorageEngine
from recovery_platform.engine.values import (
    CommitInfo,
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
from recovery_platform.engine.version_memo import LatestSnapshots, LoadedVersions, VersionMemo

__all__ = ["DeltaRsEngine"]

_Marker = tuple[int, tuple[int, int, int]]
"""A kept latest version: its number and its commit file's identity (`commit_marker`)."""

KEY_INDEXES_KEPT = 24
"""Parent key indexes kept per engine (about 10 MB each for 200,000 GUID keys, so at most about
240 MB): a nightly sync checks each parent's children in the next dependency wave, after every
parent of that wave was indexed."""


def _split_properties(properties: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """`delta.*` table properties, and the others (which delta-rs refuses at creation)."""
    delta_keys = {k: v for k, v in properties.items() if k.startswith("delta.")}
    custom = {k: v for k, v in properties.items() if not k.startswith("delta.")}
    return delta_keys, custom


class DeltaRsEngine(StorageEngine):
    """Delta Lake through delta-rs (the `deltalake` package), for tables one machine can scan.

    Args:
        storage_options: object-store options passed to delta-rs (credentials, endpoints);
            None or empty for local folders.
    """

    capabilities = EngineCapabilities(
        name="deltars",
        reads_deletion_vectors=False,
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
        self._loaded: LoadedVersions[DeltaTable] = LoadedVersions()
        self._latest_kept: LatestSnapshots[_Marker, DeltaTable] = LatestSnapshots()

    def _open(self, uri: str, version: int | None = None) -> DeltaTable:
        """A version for reading: loaded once and then reused; the latest while it is latest.

        Callers never move a table object to another version or write through one returned
        here (writers use `_open_to_write`), so a loaded version stays what it was.
        """
        if version is None:
            return self._latest(uri)

        def load() -> tuple[str, DeltaTable]:
            dt = open_table(uri, self._options, version)
            return str(dt.metadata().id), dt

        return self._loaded.get_or_load(uri, version, load)

    def _latest(self, uri: str) -> DeltaTable:
        """The latest version for reading: a local table's kept snapshot while still latest."""
        log_dir = local_log_dir(uri)
        if log_dir is not None:
            kept = self._latest_kept.get(uri, lambda marker: _still_latest(log_dir, marker))
            if kept is not None:
                return kept
        latest = self._open_to_write(uri)
        at = latest.version()
        marker = commit_marker(log_dir, at) if log_dir is not None else None
        if marker is not None:
            table_id = str(latest.metadata().id)
            snapshot = self._loaded.get_or_load(uri, at, lambda: (table_id, latest))
            self._latest_kept.keep(uri, (at, marker), snapshot)
            return snapshot
        return latest

    def _open_to_write(self, uri: str) -> DeltaTable:
        """A fresh load of the latest version, of the caller's own, to write through."""
        latest = open_table(uri, self._options)
        self._loaded.saw_latest(uri, str(latest.metadata().id))
        return latest

    def _version_after_write(self, uri: str) -> int:
        return self._open(uri).version()

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
            delta_keys, custom = _split_properties(properties)
            DeltaTable.create(
                uri,
                schema,
                mode="ignore",
                configuration=delta_keys,
                storage_options=self._options,
            )
            if custom:
                self.set_properties(uri, custom)
        return self.state(uri)

    def append(
        self, uri: str, data: pa.Table, *, commit_metadata: Mapping[str, str] | None = None
    ) -> int:
        """Append rows in one commit (creating the table if absent); returns the new version."""
        if self.table_exists(uri):
            self._open(uri)
        write_deltalake(
            uri,
            data,
            mode="append",
            storage_options=self._options,
            commit_properties=commit_properties(commit_metadata),
        )
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
            self._open(uri)
        delta_keys, custom = _split_properties(properties or {})
        write_deltalake(
            uri,
            data,
            mode="overwrite",
            schema_mode="overwrite" if exists else None,
            configuration=delta_keys if delta_keys and not exists else None,
            storage_options=self._options,
            commit_properties=commit_properties(commit_metadata),
        )
        later = dict(properties or {}) if exists else custom
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
        are added first by one ALTER commit (see `_conform_for_merge`).
        """
        quoted = identifier(key)
        if not self.table_exists(uri):
            return self.append(uri, data, commit_metadata=commit_metadata)
        dt = self._open_to_write(uri)
        data = self._conform_for_merge(dt, data)
        (
            dt.merge(
                data,
                predicate=f"t.{quoted} = s.{quoted}",
                source_alias="s",
                target_alias="t",
                # the upsert is a small in-memory table (a day's changes): executed whole, it
                # merges faster than streamed, and its key range can prune target files
                streamed_exec=False,
                writer_properties=_unique_column_properties(key),
                commit_properties=commit_properties(commit_metadata),
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return self._version_after_write(uri)

    @staticmethod
    def _conform_for_merge(dt: DeltaTable, data: pa.Table) -> pa.Table:
        """Add `data`'s new columns to the table, then cast `data` to the table's fields.

        New columns go through ALTER TABLE ADD COLUMNS, never MERGE's `merge_schema`: delta-rs
        1.6.6 writes a metaData action with a new table id for the latter, which would make every
        earlier checkpoint look like a recreated table. Casting to the table's fields also keeps
        its NOT NULL declarations (delta-io/delta-rs#4527 refuses a source relaxing them).
        """
        current = arrow_schema(dt)
        added = [f.with_nullable(True) for f in data.schema if f.name not in current.names]
        if added:
            dt.alter.add_columns(list(Schema.from_arrow(pa.schema(added)).fields))
            dt.update_incremental()
            current = arrow_schema(dt)
        return data.cast(pa.schema([current.field(name) for name in data.column_names]))

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
        if not values:
            raise ValueError("update_where needs at least one column to set")
        predicate = equality_predicate(equals) if equals else None
        updates = {identifier(column): literal(value) for column, value in values.items()}
        dt = self._open_to_write(uri)
        dt.update(
            updates=updates,
            predicate=predicate,
            commit_properties=commit_properties(commit_metadata),
        )
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
        target = latest.version() if version is None else version
        dt = latest if version is None else self._open(uri, version)
        commits = history(latest, latest.version() - target + 1)
        commit = next((c for c in commits if c.version == target), None)
        if commit is None:
            raise VersionNotAvailableError(
                f"version {target} of {uri} has no commit in the log (log cleanup removed it)"
            )
        return TableState(
            version=target, timestamp=commit.timestamp, table_id=str(dt.metadata().id)
        )

    def history(self, uri: str, *, limit: int | None = None) -> list[CommitInfo]:
        """Commits, newest first."""
        return history(self._open(uri), limit)

    def row_counts(self, uri: str, shape: TableShape, version: int | None = None) -> RowCounts:
        """Counts by tracking state; from log statistics only where they are exact.

        Without exact statistics the tracking flags are scanned, null keys taken from the
        statistics; without those either, the key and tracking columns are scanned, which also
        fingerprints the version (both answers are remembered).
        """
        dt = self._open(uri, version)
        table_id, at = str(dt.metadata().id), dt.version()
        remembered = self._memo.recall(uri, table_id, at, ("counts", shape))
        if isinstance(remembered, RowCounts):
            return remembered
        without_key = counts_without_key_scan(dt, shape)
        if without_key is not None:
            return self._memo.get_or_compute(uri, table_id, at, ("counts", shape),
                                             lambda: without_key)
        return self._scan(dt, uri, shape)[0]

    def fingerprint(self, uri: str, shape: TableShape, version: int | None = None) -> int:
        """The record-state fingerprint of a version, streamed batch by batch."""
        return self.counts_and_fingerprint(uri, shape, version)[1]

    def counts_and_fingerprint(
        self, uri: str, shape: TableShape, version: int | None = None
    ) -> tuple[RowCounts, int]:
        """Counts and fingerprint from one streamed read of the covered columns (remembered).

        The fingerprint's columns include the key and tracking columns the counts need, so one
        read answers both; a version already answered is not read again.
        """
        dt = self._open(uri, version)
        table_id, at = str(dt.metadata().id), dt.version()
        remembered = self._memo.recall(uri, table_id, at, ("fingerprint", shape))
        if isinstance(remembered, int):
            return self.row_counts(uri, shape, at), remembered
        return self._scan(dt, uri, shape)

    def _scan(self, dt: DeltaTable, uri: str, shape: TableShape) -> tuple[RowCounts, int]:
        """Count and fingerprint a loaded version in one read, and remember both."""
        table_id, at = str(dt.metadata().id), dt.version()
        names = arrow_schema(dt).names
        fingerprint = EMPTY_FINGERPRINT

        def hashed(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            nonlocal fingerprint
            for batch in batches:
                fingerprint = combine(fingerprint, fingerprint_batches([batch]))
                yield batch

        covered = shape.record_state_columns(names)
        scanned = counts_of_batches(hashed(iter_batches(dt, covered)), shape, set(names))
        counts = self._memo.get_or_compute(uri, table_id, at, ("counts", shape), lambda: scanned)
        self._memo.get_or_compute(uri, table_id, at, ("fingerprint", shape), lambda: fingerprint)
        return counts, fingerprint

    def key_diff(
        self,
        uri: str,
        shape: TableShape,
        from_version: int,
        to_version: int,
        *,
        sample_size: int = 10,
    ) -> KeyDiff:
        """Key-level, netted difference between two versions (either order)."""
        if shape.key is None:
            raise ValueError("a key diff needs the table's key column")
        latest = self._open(uri)
        low, high = sorted((from_version, to_version))
        dt_low, dt_high = self._open(uri, low), self._open(uri, high)
        if cdf_usable(latest, dt_low, low, high):
            try:
                diff = key_diff_by_cdf(
                    latest, dt_low, dt_high, shape.key, shape, low, high, sample_size
                )
            except (DeltaError, OSError):
                diff = None
            if diff is not None:
                return diff if from_version <= to_version else reverse(diff)
        dt_from, dt_to = (dt_low, dt_high) if from_version <= to_version else (dt_high, dt_low)
        return key_diff_by_scan(
            dt_from, dt_to, shape.key, shape, from_version, to_version, sample_size
        )

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
        return source_diff(dt, read_source(source_uri), shape, compare_columns)

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
        maintenance.check_retention(retention_hours)
        return maintenance.vacuum(self._open_to_write(uri), retention_hours, dry_run, keep_versions)

    def optimize(self, uri: str, *, zorder_columns: Sequence[str] = ()) -> OptimizeResult:
        """Compact small files, z-ordering by the given columns if any."""
        return maintenance.optimize(self._open_to_write(uri), zorder_columns)

    def get_properties(self, uri: str) -> dict[str, str]:
        """The table's properties (`delta.*` and others)."""
        return dict(self._open(uri).metadata().configuration)

    def set_properties(self, uri: str, properties: Mapping[str, str]) -> int:
        """Set table properties in one commit; returns the new version."""
        dt = self._open_to_write(uri)
        dt.alter.set_table_properties(dict(properties), raise_if_not_exists=False)
        return dt.version()  # the alterer moves `dt` to the version it committed

    def is_restorable(self, uri: str, version: int, table_id: str) -> Restorability:
        """The log loads, every data file the version needs exists, and the id is `table_id`."""
        return maintenance.is_restorable(uri, version, table_id, self._options)


def _unique_column_properties(key: str) -> WriterProperties:
    """Parquet settings for a rewrite of a keyed table: no dictionary for the key column.

    Key values are unique, so a dictionary never pays: the writer fills one up to its size
    limit and then falls back to plain pages anyway. Skipping it makes a daily MERGE of a
    200,000-row table about a quarter faster for about 8 % more bytes (GUID keys).
    """
    return WriterProperties(column_properties={key: ColumnProperties(dictionary_enabled=False)})


def _still_latest(log_dir: Path, marker: _Marker) -> bool:
    """The kept version's commit file is unchanged and no later commit exists."""
    version, commit = marker
    return commit_marker(log_dir, version) == commit and not (
        log_dir / f"{version + 1:020d}.json"
    ).exists()
