"""VACUUM and OPTIMIZE of the metadata tables: the platform's own history must stay queryable.

Every run appends a few rows to the audit, checkpoint and alert tables, so after months they are
thousands of small files. They are compacted and Z-ordered by the columns their queries filter
on (time first, then the table or id they are looked up by), and vacuumed with at least 30 days
(720 hours) of retention: their own time travel is how an operator reads what the metadata said
at the time of an incident. No checkpoint pins a metadata table, so a vacuum keeps the latest
version only, beyond the retention window.
"""

from __future__ import annotations

from collections.abc import Mapping

from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.maintenance.targets import MaintenanceTarget
from recovery_platform.engine import WHOLE_ROWS

METADATA_MIN_VACUUM_HOURS = 720
"""Thirty days: the metadata tables' own history is evidence, kept longer than bronze's floor."""

METADATA_ZORDER: Mapping[MetadataTable, tuple[str, ...]] = {
    MetadataTable.PipelineConfig: (),
    MetadataTable.CheckpointHistory: ("CreatedDate", "CheckpointType"),
    MetadataTable.CheckpointTables: ("TableName", "CheckpointId"),
    MetadataTable.SyncAuditLog: ("StartTime", "TableName"),
    MetadataTable.DataValidation: ("ValidatedAt", "TableName"),
    MetadataTable.RollbackStateSnapshots: ("CapturedAt", "TableName"),
    MetadataTable.RollbackComparisonReports: ("CreatedAt", "TableName"),
    MetadataTable.RollbackValidationReports: ("CreatedAt",),
    MetadataTable.Alerts: ("CreatedAt", "Severity"),
    MetadataTable.RollbackPlans: ("CreatedAt",),
    MetadataTable.RollbackPlanTables: ("PlanId",),
    MetadataTable.SchemaVersions: (),
    MetadataTable.CheckpointIntegrity: ("CheckedAt", "CheckpointId"),
}
"""Z-order columns per metadata table: the time column reports filter on, then the lookup key.

Tables of a few rows (the configuration mirror, the schema versions) are only compacted.
"""


def metadata_target(
    lakehouse: Lakehouse, table: MetadataTable, retention_hours: int = METADATA_MIN_VACUUM_HOURS
) -> MaintenanceTarget:
    """One metadata table to maintain; `retention_hours` is raised to the 720-hour floor."""
    return MaintenanceTarget(
        name=f"metadata.{MetadataTable(table).value}",
        uri=lakehouse.metadata_uri(table),
        shape=WHOLE_ROWS,
        retention_hours=max(retention_hours, METADATA_MIN_VACUUM_HOURS),
        zorder_columns=METADATA_ZORDER[table],
        vacuum=True,
        optimize=True,
        bronze=False,
    )


def metadata_targets(lakehouse: Lakehouse) -> list[MaintenanceTarget]:
    """Every metadata table that exists, in schema order (a missing one has nothing to do).

    Vacuumed with the configured `maintenance.metadata_vacuum_retention_hours` (at least 720).
    """
    engine = lakehouse.engine
    hours = lakehouse.config.maintenance.metadata_vacuum_retention_hours
    return [
        metadata_target(lakehouse, table, hours) for table in MetadataTable
        if engine.table_exists(lakehouse.metadata_uri(table))
    ]
