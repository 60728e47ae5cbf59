"""The fixed vocabularies of the platform: checkpoint types, audit operations, statuses.

They are written into metadata tables and read back by queries and by people, so their values are
part of the interface. Enum names equal values so that the Dagster launchpad shows them as-is.
"""

from __future__ import annotations

from enum import StrEnum


class CheckpointType(StrEnum):
    """Why a checkpoint was taken; decides its retention."""

    Daily = "Daily"
    DailyBatch = "DailyBatch"
    PrePurge = "PrePurge"
    Manual = "Manual"
    PreMaintenance = "PreMaintenance"
    PreRollback = "PreRollback"
    PostRollback = "PostRollback"


class ValidationStatus(StrEnum):
    """A checkpoint is a rollback target only when `Validated`."""

    Validated = "Validated"
    Failed = "Failed"
    Pending = "Pending"


class IntegrityStatus(StrEnum):
    """What the last integrity check found; an `Unrestorable` checkpoint is never a target."""

    Verified = "Verified"
    Unrestorable = "Unrestorable"


class OperationType(StrEnum):
    """Every operation written to `SyncAuditLog` uses one of these."""

    TableSync = "TableSync"
    SyncHeld = "SyncHeld"
    SyncOverride = "SyncOverride"
    BronzeValidation = "BronzeValidation"
    CheckpointCreated = "CheckpointCreated"
    CheckpointFailed = "CheckpointFailed"
    BatchCheckpoint = "BatchCheckpoint"
    ManualCheckpoint = "ManualCheckpoint"
    TableRetentionAdjusted = "TableRetentionAdjusted"
    PurgeRecorded = "PurgeRecorded"
    PurgeConsumed = "PurgeConsumed"
    PipelineConfigSync = "PipelineConfigSync"
    RollbackValidation = "RollbackValidation"
    RollbackImpactAnalysis = "RollbackImpactAnalysis"
    PreRollbackCheckpoint = "PreRollbackCheckpoint"
    TableRestore = "TableRestore"
    PostRollbackValidation = "PostRollbackValidation"
    PostRollbackCheckpoint = "PostRollbackCheckpoint"
    Vacuum = "Vacuum"
    Optimize = "Optimize"
    CheckpointRetentionEnforcement = "CheckpointRetentionEnforcement"
    CheckpointIntegrityValidation = "CheckpointIntegrityValidation"
    ValidationAlert = "ValidationAlert"


class AuditStatus(StrEnum):
    """Outcome of one audited step."""

    Started = "Started"
    Succeeded = "Succeeded"
    Failed = "Failed"
    Held = "Held"
    Skipped = "Skipped"
    Warning = "Warning"


class AlertSeverity(StrEnum):
    """How loudly an alert must be delivered (the seed's CR-004 levels; see alerting.kinds)."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class RelationSeverity(StrEnum):
    """What a broken declared relation means: `error` is zero tolerance, `warn` is reported."""

    error = "error"
    warn = "warn"
