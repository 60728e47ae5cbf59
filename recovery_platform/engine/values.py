"""Small value objects that cross the engine seam.

Only these, plain Python scalars and Arrow data ever leave an engine: never a Spark or pandas
DataFrame. They are frozen so that a plan or a checkpoint that records them cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import pyarrow as pa

COMMIT_METADATA_PREFIX = "recovery_platform."
"""Keys of our commit metadata start with this, so they never collide with an engine's own."""

NO_DATA_CHANGE_OPERATIONS = frozenset(
    {
        "OPTIMIZE",
        "VACUUM START",
        "VACUUM END",
        "SET TBLPROPERTIES",
        "UNSET TBLPROPERTIES",
        "ADD CONSTRAINT",
        "DROP CONSTRAINT",
        "ADD FEATURE",
        "UPGRADE PROTOCOL",
        "CREATE TABLE",
    }
)
"""Delta operations that never change a table's rows, whichever engine wrote them."""

DUPLICATE_SAMPLE_SIZE = 10
"""Repeated keys an answer names as examples, where the caller cannot choose how many."""


@dataclass(frozen=True)
class TableShape:
    """Which columns carry a table's identity and tracking state.

    Golden or foreign tables may lack tracking columns: then every row counts as active.
    """

    key: str | None
    deleted: str | None = "IsDeleted"
    purged: str | None = "IsPurged"
    synced: str | None = "LastSynced"

    def record_state_columns(self, names: Sequence[str]) -> list[str] | None:
        """The columns a fingerprint covers in a table with these column `names`.

        A platform table's record state is its key and tracking columns: every sync stamps
        `LastSynced` on the rows it writes, so any row a sync adds, changes, deletes or purges
        changes them. A table without a key or any tracking column (one the platform did not
        write) has no such state, so all its columns are covered (None).
        """
        present = set(names)
        tracking = [c for c in (self.deleted, self.purged, self.synced) if c and c in present]
        if self.key is None or self.key not in present or not tracking:
            return None
        return [self.key, *tracking]


WHOLE_ROWS = TableShape(key=None, deleted=None, purged=None, synced=None)
"""A shape without key or tracking columns: a fingerprint of it covers every column."""


@dataclass(frozen=True)
class TableState:
    """Where a table stands at one version: what a checkpoint pins."""

    version: int
    timestamp: datetime
    table_id: str


@dataclass(frozen=True)
class RowCounts:
    """Row counts by tracking state; `active + deleted + purged == total` must hold exactly.

    A row flagged both deleted and purged is counted in `both_flags` and in neither bucket,
    so the identity fails for it instead of hiding it.
    """

    total: int
    active: int
    deleted: int
    purged: int
    null_keys: int
    both_flags: int = 0
    method: Literal["log_stats", "scan"] = "scan"


@dataclass(frozen=True)
class CommitInfo:
    """One entry of a table's history, normalised across engines."""

    version: int
    timestamp: datetime
    operation: str
    data_change: bool
    parameters: dict[str, str] = field(default_factory=dict)
    user_metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyDiff:
    """What changes, key by key, when a table goes from one version to another.

    Netted per key: a key inserted and deleted inside the range does not appear.
    `state_changes` maps "active->deleted" style transitions to counts.
    """

    from_version: int
    to_version: int
    added: int
    removed: int
    changed: int
    state_changes: dict[str, int]
    sample_added: tuple[str, ...]
    sample_removed: tuple[str, ...]
    sample_changed: tuple[str, ...]
    method: Literal["change_data_feed", "key_scan"]


@dataclass(frozen=True)
class DuplicateKeys:
    """Non-null keys that more than one row holds; a null key is never a duplicate.

    `extra_rows` counts the rows beyond the first of each repeated key (a key held by three
    rows counts two), so the keys are unique exactly when it is 0; `repeated_keys` counts the
    keys themselves; `sample_keys` are the smallest of them, as text.
    """

    extra_rows: int
    repeated_keys: int
    sample_keys: tuple[str, ...]

    @property
    def found(self) -> bool:
        """Some key is held by more than one row."""
        return self.extra_rows > 0


NO_DUPLICATES = DuplicateKeys(extra_rows=0, repeated_keys=0, sample_keys=())


@dataclass(frozen=True)
class SourceDiff:
    """The rows a sync must touch, computed where the data is.

    `changed` holds source rows that are new or differ from the table's current row (by a hash
    of the compared columns), with three extra columns: `_target_present`, `_target_deleted`,
    `_target_purged`. `missing_active` holds the table's current active rows whose key is absent
    from the source, with all their columns. `unchanged` counts source rows equal to the table.

    `duplicates` are keys the source holds in more than one row. Such an extract cannot be
    synced (which of its rows is the record?), so it is not compared at all: `changed` and
    `missing_active` are then empty and `unchanged` is 0.
    """

    changed: pa.Table
    missing_active: pa.Table
    unchanged: int
    source_rows: int
    duplicates: DuplicateKeys = NO_DUPLICATES


@dataclass(frozen=True)
class OrphanCount:
    """Child rows whose foreign key finds no parent row."""

    count: int
    sample_keys: tuple[str, ...]


@dataclass(frozen=True)
class StorageDelta:
    """Files a move from one version to another re-adds and removes, with their bytes."""

    files_added: int
    files_removed: int
    bytes_added: int
    bytes_removed: int


@dataclass(frozen=True)
class RestoreResult:
    """The outcome of one restore; `noop` means no commit was written."""

    version_before: int
    version_after: int
    noop: bool
    files_added: int
    files_removed: int


@dataclass(frozen=True)
class VacuumResult:
    """Files a vacuum removed, or would remove on a dry run."""

    dry_run: bool
    files: tuple[str, ...]
    retention_hours: int


@dataclass(frozen=True)
class OptimizeResult:
    """Files an optimize compacted."""

    version: int
    files_added: int
    files_removed: int


@dataclass(frozen=True)
class Restorability:
    """Whether a pinned version can still be restored, and if not, why in plain words."""

    restorable: bool
    reason: str | None = None
    missing_files: int = 0


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can and cannot do, declared so callers never test its type."""

    name: str
    reader_features: frozenset[str]
    """Delta reader features the engine reads correctly (legacy ones by name, see `protocol`)."""
    writer_features: frozenset[str]
    """Features the engine keeps when it commits (restores, writes, maintenance) to a table."""
    vacuum_keep_versions: bool
    restore_commit_metadata: bool
    concurrent_restores: bool
    requires_in_process_executor: bool
    parallel_tables: bool = False
    """Calls on different tables may run from several threads at once (False: one at a time)."""

    @property
    def reads_deletion_vectors(self) -> bool:
        """Whether rows deleted by deletion vectors stay deleted in this engine's reads."""
        return "deletionVectors" in self.reader_features
