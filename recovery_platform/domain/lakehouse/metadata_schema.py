"""Fixed schemas of the metadata tables, with one line per column saying what it means.

These tables are the platform's memory and its audit trail; people query them with SQL, so their
columns are an interface. `docs/metadata_tables.md` is checked against this module by a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


class MetadataTable(StrEnum):
    """The metadata tables, by their names under `<root>/metadata/`."""

    PipelineConfig = "PipelineConfig"
    CheckpointHistory = "CheckpointHistory"
    CheckpointTables = "CheckpointTables"
    SyncAuditLog = "SyncAuditLog"
    DataValidation = "DataValidation"
    RollbackStateSnapshots = "RollbackStateSnapshots"
    RollbackComparisonReports = "RollbackComparisonReports"
    RollbackValidationReports = "RollbackValidationReports"
    Alerts = "Alerts"
    RollbackPlans = "RollbackPlans"
    RollbackPlanTables = "RollbackPlanTables"
    SchemaVersions = "SchemaVersions"
    CheckpointIntegrity = "CheckpointIntegrity"


@dataclass(frozen=True)
class Column:
    """A metadata column: name, Arrow type, nullability and meaning."""

    name: str
    type: pa.DataType
    nullable: bool
    doc: str


def _c(name: str, kind: pa.DataType, doc: str, *, nullable: bool = True) -> Column:
    return Column(name, kind, nullable, doc)


S, I64, I32, F64, B, D = pa.string(), pa.int64(), pa.int32(), pa.float64(), pa.bool_(), pa.date32()

COLUMNS: dict[MetadataTable, tuple[Column, ...]] = {
    MetadataTable.PipelineConfig: (
        _c("TableName", S, "Declared bronze table (the allowlist).", nullable=False),
        _c("PrimaryKey", S, "Primary-key column."),
        _c("ColumnsJson", S, "Declared columns and types, JSON."),
        _c("RelationsJson", S, "Declared foreign keys with error/warn severity, JSON."),
        _c("RetentionDaysJson", S, "Checkpoint retention in days per checkpoint type, JSON."),
        _c("VacuumRetentionHours", I64, "VACUUM retention in hours (never below 168)."),
        _c("EnableVacuum", B, "Whether maintenance vacuums this table."),
        _c("EnableOptimize", B, "Whether maintenance optimizes this table."),
        _c("OptimizeZOrderColumns", S, "Comma-separated Z-ORDER columns, or null."),
        _c("MassDeletionThreshold", F64, "Share of active rows a sync may newly delete."),
        _c("PurgeCutoffColumn", S, "Column limiting purge classification to older records."),
        _c("ConfigUpdatedAt", TS, "When the declared fields were last mirrored."),
        _c("LastPurgeDate", D, "Date of the last recorded source purge (mutable)."),
        _c("PurgeCutoffDate", D, "Records with cutoff column before this date may be purged."),
        _c("PurgePending", B, "A recorded purge not yet consumed by a sync (mutable)."),
        _c("PurgeStatus", S, "Pending / Recorded / Consumed: progress of the purge pipeline."),
        _c("PurgeCheckpointId", S, "PrePurge checkpoint taken for the pending purge."),
        _c("LastSyncDate", D, "Extract date of the last successful sync (mutable)."),
    ),
    MetadataTable.CheckpointHistory: (
        _c("CheckpointId", S, "Unique id (UUID).", nullable=False),
        _c("CheckpointName", S, "Human name, e.g. bronze_backup_2026-01-15.", nullable=False),
        _c("CheckpointType", S, "Daily, DailyBatch, PrePurge, Manual, PreMaintenance, ...",
           nullable=False),
        _c("CreatedDate", TS, "When the checkpoint was taken (UTC).", nullable=False),
        _c("TablesIncluded", I32, "Number of tables pinned.", nullable=False),
        _c("TotalRows", I64, "Sum of pinned total row counts."),
        _c("ValidationStatus", S, "Validated, Failed or Pending.", nullable=False),
        _c("RetentionDate", D, "Date after which the checkpoint expires.", nullable=False),
        _c("IsActive", B, "False once expired; rows are never deleted.", nullable=False),
        _c("TableName", S, "The table, for per-table checkpoints; null for multi-table ones."),
        _c("Notes", S, "Free text: failure reasons, links to plans and other checkpoints."),
        _c("PipelineRunId", S, "Dagster run id that created it."),
        _c("RequestedBy", S, "Who asked for it (manual, purge, rollback checkpoints)."),
        _c("LongTerm", B, "Manual checkpoint kept with long-term retention."),
        _c("IntegrityStatus", S, "Verified or Unrestorable by the last integrity check; null "
           "before the first. The rollback planner refuses Unrestorable."),
        _c("IntegrityCheckedAt", TS, "When the last integrity check ran."),
        _c("IntegrityNotes", S, "Why the last integrity check failed, per table."),
        _c("DeactivatedAt", TS, "When retention enforcement set IsActive to false."),
    ),
    MetadataTable.CheckpointTables: (
        _c("CheckpointId", S, "Parent checkpoint.", nullable=False),
        _c("TableName", S, "Pinned table.", nullable=False),
        _c("DeltaVersion", I64, "Exact Delta version pinned; rollback restores this.",
           nullable=False),
        _c("CommitTimestamp", TS, "Commit timestamp of that version."),
        _c("TableId", S, "Delta table id; a recreated table is refused.", nullable=False),
        _c("TotalRows", I64, "Rows at the version."),
        _c("ActiveRows", I64, "Rows neither deleted nor purged."),
        _c("DeletedRows", I64, "Rows with IsDeleted."),
        _c("PurgedRows", I64, "Rows with IsPurged."),
        _c("NullKeys", I64, "Rows with a null primary key (must be 0)."),
        _c("Fingerprint", S, "Record-state fingerprint (key and tracking columns), 16 hex "
           "digits; proves a restore."),
        _c("ValidationStatus", S, "Validated or Failed for this table."),
    ),
    MetadataTable.SyncAuditLog: (
        _c("AuditId", S, "Unique id.", nullable=False),
        _c("PipelineRunId", S, "Dagster run id: ties every step of one run together."),
        _c("OperationType", S, "From the fixed vocabulary (OperationType).", nullable=False),
        _c("TableName", S, "Table concerned, if any."),
        _c("Status", S, "Started, Succeeded, Failed, Held, Skipped, Warning.", nullable=False),
        _c("StartTime", TS, "Start of the step."),
        _c("EndTime", TS, "End of the step."),
        _c("DurationSeconds", F64, "EndTime - StartTime in seconds."),
        _c("RowsRead", I64, "Rows read from the source."),
        _c("RowsInserted", I64, "New rows."),
        _c("RowsUpdated", I64, "Changed rows."),
        _c("RowsDeleted", I64, "Rows newly marked IsDeleted."),
        _c("RowsPurged", I64, "Rows newly marked IsPurged."),
        _c("RowsReactivated", I64, "Deleted or purged rows that reappeared."),
        _c("RequestedBy", S, "Who triggered the run."),
        _c("ApprovedBy", S, "Who approved (rollbacks, overrides)."),
        _c("Reason", S, "Why, as given by the requester."),
        _c("CheckpointId", S, "Checkpoint concerned, if any."),
        _c("DryRun", B, "True for dry runs and plans that changed nothing."),
        _c("DeltaVersion", I64, "Table version written or pinned by the step."),
        _c("DetailsJson", S, "Step-specific details, JSON."),
        _c("ErrorMessage", S, "Error in plain words when Status is Failed or Held."),
        _c("FilesAffected", I64, "Files a maintenance step removed, rewrote or would remove."),
        _c("BytesAffected", I64, "Bytes a maintenance step reclaimed or would reclaim."),
    ),
    MetadataTable.DataValidation: (
        _c("ValidationId", S, "Unique id.", nullable=False),
        _c("PipelineRunId", S, "Dagster run id."),
        _c("TableName", S, "Validated table.", nullable=False),
        _c("DeltaVersion", I64, "Version validated."),
        _c("Context", S, "PostSync, PostRollback, Checkpoint, Integrity, ..."),
        _c("ValidationType", S, "Invariant name, e.g. tracking_counts_consistent.",
           nullable=False),
        _c("ValidationPassed", B, "Whether the invariant held.", nullable=False),
        _c("Severity", S, "error (zero tolerance) or warn."),
        _c("ExpectedValue", S, "What was expected."),
        _c("ActualValue", S, "What was found."),
        _c("ViolationCount", I64, "Rows violating the invariant."),
        _c("SampleKeys", S, "Up to ten violating keys, comma-separated."),
        _c("ValidatedAt", TS, "When.", nullable=False),
    ),
    MetadataTable.RollbackStateSnapshots: (
        _c("SnapshotId", S, "Unique id.", nullable=False),
        _c("PlanId", S, "Rollback plan."),
        _c("PipelineRunId", S, "Dagster run id."),
        _c("TableName", S, "Table.", nullable=False),
        _c("Phase", S, "Before or After the rollback.", nullable=False),
        _c("DeltaVersion", I64, "Version at that moment."),
        _c("TotalRows", I64, "Total rows."),
        _c("ActiveRows", I64, "Active rows."),
        _c("DeletedRows", I64, "Deleted rows."),
        _c("PurgedRows", I64, "Purged rows."),
        _c("Fingerprint", S, "Record-state fingerprint."),
        _c("CapturedAt", TS, "When.", nullable=False),
    ),
    MetadataTable.RollbackComparisonReports: (
        _c("ReportId", S, "Unique id.", nullable=False),
        _c("PlanId", S, "Rollback plan."),
        _c("PipelineRunId", S, "Dagster run id."),
        _c("TableName", S, "Table.", nullable=False),
        _c("MetricName", S, "total, active, deleted, purged, null_keys, fingerprint, all_columns",
           nullable=False),
        _c("BeforeValue", S, "Value before the rollback."),
        _c("AfterValue", S, "Value after the rollback."),
        _c("ExpectedValue", S, "Value pinned by the checkpoint."),
        _c("Matches", B, "AfterValue equals ExpectedValue."),
        _c("CreatedAt", TS, "When.", nullable=False),
    ),
    MetadataTable.RollbackValidationReports: (
        _c("ReportId", S, "Unique id.", nullable=False),
        _c("PlanId", S, "Rollback plan."),
        _c("PipelineRunId", S, "Dagster run id."),
        _c("CheckpointId", S, "Target checkpoint."),
        _c("TablesValidated", I32, "Tables checked."),
        _c("TablesPassed", I32, "Tables that passed every check."),
        _c("TablesFailed", I32, "Tables that failed a check."),
        _c("OverallStatus", S, "Passed or Failed."),
        _c("ReportMarkdown", S, "The human-readable report."),
        _c("CreatedAt", TS, "When.", nullable=False),
    ),
    MetadataTable.Alerts: (
        _c("AlertId", S, "Unique id.", nullable=False),
        _c("PipelineRunId", S, "Dagster run id."),
        _c("CreatedAt", TS, "When.", nullable=False),
        _c("Severity", S, "CRITICAL, HIGH, MEDIUM or LOW (by kind: docs/runbook_alerts.md).",
           nullable=False),
        _c("AlertType", S, "What happened, e.g. SyncHeld, CheckpointFailed.", nullable=False),
        _c("TableName", S, "Table concerned, if any."),
        _c("Message", S, "One-paragraph explanation with the recommended action.",
           nullable=False),
        _c("DetailsJson", S, "Details, JSON."),
        _c("DeliveryStatus", S, "Pending until a notifier delivers it; Delivered, Suppressed "
           "(a duplicate within the hour, counted in the next message) or Failed for good.",
           nullable=False),
        _c("DeliveryAttempts", I32, "How many times sending was tried."),
        _c("LastAttemptAt", TS, "When sending was last tried."),
        _c("DeliveredAt", TS, "When a notifier accepted the message."),
        _c("DeliveryError", S, "Why the last attempt failed, in plain words."),
        _c("DedupKey", S, "Kind, table and cause fingerprint: one message per key and hour."),
        _c("JobName", S, "Dagster job of the run that raised it, for the message subject."),
    ),
    MetadataTable.RollbackPlans: (
        _c("PlanId", S, "Unique id; apply a plan by this id.", nullable=False),
        _c("PipelineRunId", S, "Run that made the plan."),
        _c("CreatedAt", TS, "When the plan was made.", nullable=False),
        _c("ExpiresAt", TS, "After this the plan can no longer be applied.", nullable=False),
        _c("CheckpointId", S, "Target checkpoint.", nullable=False),
        _c("CheckpointName", S, "Target checkpoint's name."),
        _c("TablesJson", S, "Tables in scope, JSON list.", nullable=False),
        _c("RequestedBy", S, "Who asked for the plan."),
        _c("Reason", S, "Why."),
        _c("DryRun", B, "Whether the planning run was a dry run."),
        _c("Status", S, "Planned, Refused, Applying, Applied, PartiallyApplied, Failed.",
           nullable=False),
        _c("ApprovedBy", S, "Who approved the apply."),
        _c("AppliedRunIds", S, "Runs that applied the plan, comma-separated."),
        _c("PreRollbackCheckpointId", S, "Checkpoint pinning the tables before the rollback."),
        _c("PostRollbackCheckpointId", S, "Checkpoint pinning the tables after the rollback."),
        _c("PlanJson", S, "The full plan: per-table impact, risks, warnings."),
        _c("PlanMarkdown", S, "The plan as a person reads it."),
    ),
    MetadataTable.RollbackPlanTables: (
        _c("PlanTableKey", S, "<PlanId>:<TableName>.", nullable=False),
        _c("PlanId", S, "Plan.", nullable=False),
        _c("TableName", S, "Table.", nullable=False),
        _c("CurrentVersion", I64, "Table version when the plan was made.", nullable=False),
        _c("TargetVersion", I64, "Pinned version the rollback restores.", nullable=False),
        _c("RowsChanged", I64, "Rows the plan found the restore adds, removes or changes."),
        _c("IntentStatus", S, "pending, committed, noop, validated, failed.", nullable=False),
        _c("RestoreVersion", I64, "Version of the RESTORE commit, once committed."),
        _c("ErrorMessage", S, "Why the table failed, in plain words."),
        _c("UpdatedAt", TS, "Last change of the intent.", nullable=False),
    ),
    MetadataTable.SchemaVersions: (
        _c("Version", I32, "Schema version reached by this step; the highest is current.",
           nullable=False),
        _c("StepName", S, "The migration step, e.g. add_schema_versions.", nullable=False),
        _c("Description", S, "What the step changed, in plain words."),
        _c("AppliedAt", TS, "When the step completed.", nullable=False),
        _c("PipelineRunId", S, "Run that applied it (empty from the command line)."),
        _c("AppliedBy", S, "recovery_platform release that applied it."),
    ),
    MetadataTable.CheckpointIntegrity: (
        _c("CheckId", S, "Unique id.", nullable=False),
        _c("PipelineRunId", S, "Dagster run id of the integrity run."),
        _c("CheckpointId", S, "Checkpoint checked.", nullable=False),
        _c("TableName", S, "Pinned table checked.", nullable=False),
        _c("DeltaVersion", I64, "Pinned version checked.", nullable=False),
        _c("Mode", S, "shallow (log, files, id, counts) or deep (also the fingerprint).",
           nullable=False),
        _c("Restorable", B, "Every check below passed.", nullable=False),
        _c("LogLoads", B, "The pinned version's log loads."),
        _c("MissingFiles", I64, "Data files the version references that storage lacks."),
        _c("TableIdMatches", B, "The table id is the recorded one (not recreated)."),
        _c("CountsMatch", B, "Counts recomputed at the version equal the recorded ones."),
        _c("FingerprintMatches", B, "Fingerprint recomputed equals the recorded one (deep)."),
        _c("Reason", S, "Why the pin is not restorable, in plain words."),
        _c("CheckedAt", TS, "When.", nullable=False),
    ),
}


def schema_of(table: MetadataTable) -> pa.Schema:
    """The Arrow schema every engine writes for a metadata table."""
    return pa.schema([pa.field(c.name, c.type, c.nullable) for c in COLUMNS[table]])


def empty_rows(table: MetadataTable) -> pa.Table:
    """An empty table with the metadata table's schema."""
    return schema_of(table).empty_table()
