"""Restore, vacuum, optimize and the checks that keep them safe, on delta-rs.

Recovery depends on old versions' data files, so these operations are where a mistake destroys
history: a restore must not write a commit that changes nothing, a vacuum must never go below
the minimum retention, and a version is only "restorable" when every file it needs exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.fs import DeltaStorageHandler
from pyarrow.fs import FileSystem, FileType, LocalFileSystem, PyFileSystem

from recovery_platform.engine.deltars.errors import ENGINE_NAME
from recovery_platform.engine.deltars.table import (
    KEEP_LOG,
    commit_properties,
    iter_batches,
    open_table,
    uses_column_mapping,
)
from recovery_platform.engine.errors import (
    CommitRefusedError,
    UnrepresentableValuesError,
    UnsupportedTableFeatureError,
    VersionNotAvailableError,
)
from recovery_platform.engine.fingerprint import fingerprint_batches
from recovery_platform.engine.retention_properties import check_retention, file_retention_hours
from recovery_platform.engine.values import (
    OptimizeResult,
    Restorability,
    RestoreResult,
    StorageDelta,
    VacuumResult,
)


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
    """Whether `version` can still be restored, and in plain words why not.

    Both the latest version (the restore commits to it) and the target (its files come back)
    must be tables this engine writes correctly. Errors raised here become the reason
    (`engine.guard`), so every cause the engine can name is an answer, not an exception.
    """
    latest = open_table(uri, storage_options, writing=True)
    if str(latest.metadata().id) != table_id:
        return Restorability(
            False, f"the table at {uri} was recreated: its id is no longer {table_id}"
        )
    dt = open_table(uri, storage_options, version, writing=True)
    if str(dt.metadata().id) != table_id:
        return Restorability(False, f"version {version} belongs to another table id")
    missing = missing_files(dt, storage_options)
    if missing:
        return Restorability(
            False,
            f"{len(missing)} data file(s) of version {version} are gone (vacuumed or deleted)",
            missing_files=len(missing),
        )
    refusal = restore_refusal(latest, uri)
    if refusal is not None:
        return Restorability(False, refusal)
    return Restorability(True)


def restore_refusal(latest: DeltaTable, uri: str) -> str | None:
    """Why no restore may be committed to the table, if there is a reason of its own.

    An append-only table forbids removing rows; delta-rs's RESTORE does not check it, so the
    check is made here.
    """
    if latest.metadata().configuration.get("delta.appendOnly", "false").lower() == "true":
        return (
            f"table {uri} is append-only (delta.appendOnly=true): a restore would remove "
            "rows, which the table forbids"
        )
    return None


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
    """Restore to `version` in one commit, or write nothing when the table already matches it.

    Commit failures are left to the engine's guard, which tells a concurrent commit (re-plan)
    from a refusal (`CommitRefusedError`).
    """
    latest = open_table(uri, storage_options, writing=True)
    before = latest.version()
    target = open_table(uri, storage_options, version, writing=True)
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
    refusal = restore_refusal(latest, uri)
    if refusal is not None:
        raise CommitRefusedError(f"{refusal}; nothing was written")
    metrics: dict[str, Any] = latest.restore(
        version,
        commit_properties=commit_properties(commit_metadata),
        post_commithook_properties=KEEP_LOG,
    )
    latest.update_incremental()
    return RestoreResult(
        version_before=before,
        version_after=latest.version(),
        noop=False,
        files_added=int(metrics.get("numRestoredFile", 0)),
        files_removed=int(metrics.get("numRemovedFile", 0)),
    )






def vacuum(
    dt: DeltaTable, retention_hours: int, dry_run: bool, keep_versions: Sequence[int]
) -> VacuumResult:
    """Vacuum with at least seven days and at least the table's own retention."""
    check_retention(retention_hours)
    own = file_retention_hours(dt.metadata().configuration)
    effective = max(retention_hours, int(own + 0.999) if own is not None else 0)
    files = dt.vacuum(
        retention_hours=effective,
        dry_run=dry_run,
        enforce_retention_duration=True,
        keep_versions=sorted(set(keep_versions)) or None,
        post_commithook_properties=KEEP_LOG,
    )
    return VacuumResult(dry_run=dry_run, files=tuple(sorted(files)), retention_hours=effective)


def optimize(
    uri: str,
    dt: DeltaTable,
    zorder_columns: Sequence[str],
    storage_options: Mapping[str, str] | None,
) -> OptimizeResult:
    """Compact small files, z-ordering when columns are given, if delta-rs rewrites them exactly.

    Raises:
        UnsupportedTableFeatureError: the table uses column mapping, which delta-rs's OPTIMIZE
            refuses (after planning, so it is refused here first).
        UnrepresentableValuesError: a data file stores INT96 timestamps, which delta-rs's
            rewrite turns into other instants when they lie outside the nanosecond range.
    """
    if uses_column_mapping(dt):
        raise UnsupportedTableFeatureError(uri, "columnMapping", ENGINE_NAME, operation="OPTIMIZE")
    legacy = int96_files(dt, storage_options)
    if legacy:
        raise UnrepresentableValuesError(
            f"optimize of table {uri} refused: {len(legacy)} data file(s) store timestamps as "
            f"Parquet INT96 (e.g. {legacy[0]}), which delta-rs cannot rewrite exactly; nothing "
            "was written"
        )
    if zorder_columns:
        metrics = dt.optimize.z_order(list(zorder_columns), post_commithook_properties=KEEP_LOG)
    else:
        metrics = dt.optimize.compact(post_commithook_properties=KEEP_LOG)
    return OptimizeResult(
        version=dt.version(),
        files_added=int(metrics.get("numFilesAdded", 0)),
        files_removed=int(metrics.get("numFilesRemoved", 0)),
    )


def int96_files(dt: DeltaTable, storage_options: Mapping[str, str] | None) -> list[str]:
    """Data files of the loaded version with a column stored as Parquet INT96 (footers only)."""
    uris = dt.file_uris()
    if all("://" not in uri for uri in uris):
        # local files through Arrow's own filesystem: no Python filesystem left for exit
        located = list(zip(uris, uris, strict=True))
        filesystem: FileSystem = LocalFileSystem()
    else:
        located = [(path, unquote(path)) for path in file_sizes(dt)]
        filesystem = PyFileSystem(DeltaStorageHandler(dt.table_uri, dict(storage_options or {})))
    found = []
    for path, location in located:
        schema = pq.read_metadata(location, filesystem=filesystem).schema
        if any(schema.column(i).physical_type == "INT96" for i in range(len(schema))):
            found.append(path)
    return found
