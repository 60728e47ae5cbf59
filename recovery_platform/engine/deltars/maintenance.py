"""Restore, vacuum, optimize and the checks that keep them safe, on delta-rs.

Recovery depends on old versions' data files, so these operations are where a mistake destroys
history: a restore must not write a commit that changes nothing, a vacuum must never go below
the minimum retention, and a version is only "restorable" when every file it needs exists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError, DeltaError
from deltalake.fs import DeltaStorageHandler
from pyarrow.fs import FileType

from recovery_platform.engine.deltars.table import (
    ENGINE_NAME,
    commit_properties,
    iter_batches,
    open_table,
    unsupported_feature,
)
from recovery_platform.engine.errors import (
    ConcurrentCommitError,
    EngineError,
    TableNotFoundError,
    UnsupportedTableFeatureError,
    VersionNotAvailableError,
)
from recovery_platform.engine.fingerprint import fingerprint_batches
from recovery_platform.engine.values import (
    OptimizeResult,
    Restorability,
    RestoreResult,
    StorageDelta,
    VacuumResult,
)

MIN_RETENTION_HOURS = 168
"""Seven days: below this a vacuum can delete files a concurrent reader or a checkpoint needs."""

_INTERVAL = re.compile(r"^\s*(?:interval\s+)?(\d+)\s+(\w+?)s?\s*$", re.IGNORECASE)
_HOURS_PER_UNIT = {"hour": 1.0, "day": 24.0, "week": 168.0, "minute": 1 / 60, "second": 1 / 3600}


def file_sizes(dt: DeltaTable) -> dict[str, int]:
    """Data file path -> size in bytes for the loaded version."""
    actions = pa.table(dt.get_add_actions(flatten=False)).select(["path", "size_bytes"])
    return dict(
        zip(
            actions.column("path").to_pylist(),
            actions.column("size_bytes").to_pylist(),
            strict=True,
        )
    )


def storage_delta(dt_from: DeltaTable, dt_to: DeltaTable) -> StorageDelta:
    """Files and bytes that the `to` file set has and `from` lacks, and the reverse."""
    before, after = file_sizes(dt_from), file_sizes(dt_to)
    added = set(after) - set(before)
    removed = set(before) - set(after)
    return StorageDelta(
        files_added=len(added),
        files_removed=len(removed),
        bytes_added=sum(after[p] for p in added),
        bytes_removed=sum(before[p] for p in removed),
    )


def missing_files(dt: DeltaTable, storage_options: Mapping[str, str] | None) -> list[str]:
    """Data files the loaded version references that storage no longer holds."""
    uris = dt.file_uris()
    if all("://" not in uri for uri in uris):
        return [uri for uri in uris if not os.path.exists(uri)]
    relative = list(file_sizes(dt))
    handler = DeltaStorageHandler(dt.table_uri, dict(storage_options or {}))
    infos = handler.get_file_info(relative)
    return [
        path for path, info in zip(relative, infos, strict=True) if info.type == FileType.NotFound
    ]


def is_restorable(
    uri: str, version: int, table_id: str, storage_options: Mapping[str, str] | None
) -> Restorability:
    """Whether `version` can still be restored, and in plain words why not."""
    try:
        latest = open_table(uri, storage_options)
    except TableNotFoundError:
        return Restorability(False, f"there is no Delta table at {uri} any more")
    except UnsupportedTableFeatureError as exc:
        return Restorability(False, str(exc))
    if str(latest.metadata().id) != table_id:
        return Restorability(
            False, f"the table at {uri} was recreated: its id is no longer {table_id}"
        )
    try:
        dt = open_table(uri, storage_options, version)
    except VersionNotAvailableError:
        return Restorability(
            False, f"version {version} no longer exists in the log (log cleanup removed it)"
        )
    if str(dt.metadata().id) != table_id:
        return Restorability(False, f"version {version} belongs to another table id")
    feature = unsupported_feature(dt)
    if feature is not None:
        return Restorability(
            False, f"version {version} uses '{feature}', which {ENGINE_NAME} cannot restore"
        )
    missing = missing_files(dt, storage_options)
    if missing:
        return Restorability(
            False,
            f"{len(missing)} data file(s) of version {version} are gone (vacuumed or deleted)",
            missing_files=len(missing),
        )
    return Restorability(True)


def _same_rows(latest: DeltaTable, target: DeltaTable) -> bool:
    """Whether the current version already holds the target's schema and rows (other files)."""
    if pa.schema(latest.schema().to_arrow()) != pa.schema(target.schema().to_arrow()):
        return False
    return fingerprint_batches(iter_batches(latest)) == fingerprint_batches(iter_batches(target))


def restore(
    uri: str,
    version: int,
    commit_metadata: Mapping[str, str],
    storage_options: Mapping[str, str] | None,
    *,
    compare_content: bool = True,
) -> RestoreResult:
    """Restore to `version` in one commit, or write nothing when the table already matches it."""
    latest = open_table(uri, storage_options)
    before = latest.version()
    target = open_table(uri, storage_options, version)
    noop = RestoreResult(before, before, noop=True, files_added=0, files_removed=0)
    if set(file_sizes(latest)) == set(file_sizes(target)):
        return noop
    missing = missing_files(target, storage_options)
    if missing:
        raise VersionNotAvailableError(
            f"cannot restore {uri} to version {version}: {len(missing)} of its data files are "
            "gone (vacuumed or deleted); restore an older checkpoint or re-sync instead"
        )
    if compare_content and _same_rows(latest, target):
        return noop
    try:
        metrics: dict[str, Any] = latest.restore(
            version, commit_properties=commit_properties(commit_metadata)
        )
    except CommitFailedError as exc:
        raise ConcurrentCommitError("table changed during the rollback; re-plan") from exc
    except DeltaError as exc:
        text = str(exc).lower()
        if "conflict" in text or "concurrent" in text or "version already exists" in text:
            raise ConcurrentCommitError("table changed during the rollback; re-plan") from exc
        if "not found" in text or "no such file" in text or "missing" in text:
            raise VersionNotAvailableError(
                f"cannot restore {uri} to version {version}: some of its data files are gone"
            ) from exc
        raise EngineError(f"restore of {uri} to version {version} failed: {exc}") from exc
    latest.update_incremental()
    return RestoreResult(
        version_before=before,
        version_after=latest.version(),
        noop=False,
        files_added=int(metrics.get("numRestoredFile", 0)),
        files_removed=int(metrics.get("numRemovedFile", 0)),
    )


def table_retention_hours(configuration: Mapping[str, str]) -> float | None:
    """The table's own `delta.deletedFileRetentionDuration` in hours, if set and readable."""
    text = configuration.get("delta.deletedFileRetentionDuration")
    match = _INTERVAL.match(text or "")
    if match is None:
        return None
    unit = match.group(2).lower()
    return int(match.group(1)) * _HOURS_PER_UNIT[unit] if unit in _HOURS_PER_UNIT else None


def check_retention(retention_hours: int) -> None:
    """Refuse a retention below seven days before any table is opened.

    Raises:
        ValueError: `retention_hours` is below the platform minimum of 168 hours.
    """
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(
            f"retention_hours={retention_hours} is below the minimum of {MIN_RETENTION_HOURS} "
            "hours (7 days); a shorter retention can destroy files that recovery needs"
        )


def vacuum(
    dt: DeltaTable, retention_hours: int, dry_run: bool, keep_versions: Sequence[int]
) -> VacuumResult:
    """Vacuum with at least seven days and at least the table's own retention."""
    check_retention(retention_hours)
    own = table_retention_hours(dt.metadata().configuration)
    effective = max(retention_hours, int(own + 0.999) if own is not None else 0)
    files = dt.vacuum(
        retention_hours=effective,
        dry_run=dry_run,
        enforce_retention_duration=True,
        keep_versions=sorted(set(keep_versions)) or None,
    )
    return VacuumResult(dry_run=dry_run, files=tuple(sorted(files)), retention_hours=effective)


def optimize(dt: DeltaTable, zorder_columns: Sequence[str]) -> OptimizeResult:
    """Compact small files, z-ordering when columns are given."""
    if zorder_columns:
        metrics = dt.optimize.z_order(list(zorder_columns))
    else:
        metrics = dt.optimize.compact()
    return OptimizeResult(
        version=dt.version(),
        files_added=int(metrics.get("numFilesAdded", 0)),
        files_removed=int(metrics.get("numFilesRemoved", 0)),
    )
