"""`metadata.PipelineConfig`: declared table configuration mirrored for querying.

It also holds the mutable per-table state (last sync, recorded purges) only the platform writes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import PlatformConfig, TableSpec


@dataclass(frozen=True)
class PurgeState:
    """A recorded purge as the sync sees it."""

    pending: bool = False
    purge_date: date | None = None
    cutoff_date: date | None = None

    def applies_on(self, sync_date: date) -> bool:
        """Pending and dated on or before the sync date: this sync consumes it."""
        return self.pending and self.purge_date is not None and self.purge_date <= sync_date


def declared_row(spec: TableSpec) -> dict[str, Any]:
    """The declared (immutable) fields of one table's PipelineConfig row."""
    return {
        "TableName": spec.name,
        "PrimaryKey": spec.primary_key,
        "ColumnsJson": json.dumps([[c.name, c.type, c.nullable] for c in spec.columns]),
        "RelationsJson": json.dumps(
            [[r.column, r.references, r.on_violation.value] for r in spec.relations]
        ),
        "RetentionDaysJson": json.dumps(dict(spec.retention_days), sort_keys=True),
        "VacuumRetentionHours": spec.vacuum_retention_hours,
        "EnableVacuum": spec.enable_vacuum,
        "EnableOptimize": spec.enable_optimize,
        "OptimizeZOrderColumns": ",".join(spec.optimize_zorder_columns) or None,
        "MassDeletionThreshold": spec.mass_deletion_threshold,
        "PurgeCutoffColumn": spec.purge_cutoff_column,
        "ConfigUpdatedAt": utc_now(),
    }


def mirror_config(store: MetadataStore, config: PlatformConfig) -> None:
    """Upsert every declared table's declared fields in one commit; mutable fields are kept."""
    current = {r["TableName"]: r for r in store.rows(MetadataTable.PipelineConfig)}
    rows = []
    for spec in config.tables.values():
        row = declared_row(spec)
        existing = current.get(spec.name)
        if existing and all(existing[k] == v for k, v in row.items() if k != "ConfigUpdatedAt"):
            continue
        rows.append(row)
    store.upsert(MetadataTable.PipelineConfig, rows, key="TableName")


def purge_states(store: MetadataStore) -> dict[str, PurgeState]:
    """Recorded purges per table, as the sync sees them."""
    return {
        str(r["TableName"]): PurgeState(
            pending=bool(r.get("PurgePending")),
            purge_date=r.get("LastPurgeDate"),
            cutoff_date=r.get("PurgeCutoffDate"),
        )
        for r in store.rows(MetadataTable.PipelineConfig)
    }


def last_sync_dates(store: MetadataStore) -> dict[str, date | None]:
    """Extract date of each table's last successful sync."""
    return {
        str(r["TableName"]): r.get("LastSyncDate") for r in store.rows(MetadataTable.PipelineConfig)
    }


def record_sync_progress(
    store: MetadataStore, synced: Sequence[str], consumed: Sequence[str], sync_date: date
) -> None:
    """Record last sync dates of `synced` and consumed purges of `consumed`, in one commit.

    A purge is consumed once a sync wrote it, even if that table did not sync successfully.
    """
    rows: dict[str, dict[str, Any]] = {
        table: {"TableName": table, "LastSyncDate": sync_date} for table in synced
    }
    for table in consumed:
        row = rows.setdefault(table, {"TableName": table})
        row.update({"PurgePending": False, "PurgeStatus": "Consumed"})
    store.upsert(MetadataTable.PipelineConfig, list(rows.values()), key="TableName")
