"""The storage-engine seam. Never imports dagster; domain code depends only on `StorageEngine`."""

from recovery_platform.engine.errors import (
    ConcurrentCommitError,
    EngineError,
    KeptFilesError,
    TableNotFoundError,
    UnsupportedTableFeatureError,
    VersionNotAvailableError,
)
from recovery_platform.engine.interface import Scalar, StorageEngine
from recovery_platform.engine.values import (
    COMMIT_METADATA_PREFIX,
    WHOLE_ROWS,
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

__all__ = [
    "COMMIT_METADATA_PREFIX",
    "WHOLE_ROWS",
    "CommitInfo",
    "ConcurrentCommitError",
    "EngineCapabilities",
    "EngineError",
    "KeptFilesError",
    "KeyDiff",
    "OptimizeResult",
    "OrphanCount",
    "Restorability",
    "RestoreResult",
    "RowCounts",
    "Scalar",
    "SourceDiff",
    "StorageDelta",
    "StorageEngine",
    "TableNotFoundError",
    "TableShape",
    "TableState",
    "UnsupportedTableFeatureError",
    "VacuumResult",
    "VersionNotAvailableError",
]
