"""Helpers the maintenance tests share: reading checkpoints, audit rows and alerts back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.maintenance.request import MaintenanceRequest
from recovery_platform.domain.maintenance.run import run_maintenance
from recovery_platform.domain.maintenance.summary import MaintenanceSummary
from recovery_platform_tests.domain.site import Site

FORTY_DAYS = 40 * 86_400
"""Older than the 30 days a PreMaintenance checkpoint secures on the table."""


def audit_trail(store: MetadataStore, requested_by: str = "pytest") -> AuditTrail:
    return AuditTrail(store, f"maintenance-{uuid.uuid4()}", Actor(requested_by=requested_by))


def maintain(site: Site, **request: Any) -> tuple[MaintenanceSummary, str]:
    """One maintenance run with `request` fields; the summary and the run id."""
    extra = {k: request.pop(k) for k in ("rewrite", "lease_wait_seconds") if k in request}
    request.setdefault("requested_by", "pytest")
    audit = audit_trail(site.store)
    summary = run_maintenance(
        site.lakehouse, site.store, audit,
        MaintenanceRequest.of(site.lakehouse.config, **request),
        now=datetime.now(UTC), leases=site.leases, **extra,
    )
    return summary, audit.run_id


def rows(store: MetadataStore, table: MetadataTable, **equals: Any) -> list[dict[str, Any]]:
    return store.rows(table, equals=equals or None)


def checkpoints_pinning(store: MetadataStore, table: str, version: int) -> list[str]:
    """Ids of the checkpoints pinning `table` at `version`."""
    return [r["CheckpointId"] for r in rows(store, MetadataTable.CheckpointTables,
                                            TableName=table, DeltaVersion=version)]


def deactivate(store: MetadataStore, checkpoint_ids: list[str]) -> None:
    for checkpoint_id in checkpoint_ids:
        store.update(MetadataTable.CheckpointHistory, equals={"CheckpointId": checkpoint_id},
                     values={"IsActive": False})
