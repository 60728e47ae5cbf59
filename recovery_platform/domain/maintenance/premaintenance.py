"""The PreMaintenance checkpoint (safety rule 4): a restore point before maintenance writes.

A vacuum or an optimize is a commit like any other; pinning the table's current version first
means a bad OPTIMIZE can be rolled back from the rollback launchpad like anything else. The
checkpoint is taken by the same code every checkpoint goes through (`record_checkpoint`), so
its retention (the table's `PreMaintenance` retention, 30 days by default) is secured on the
table's Delta properties before it is recorded.
"""

from __future__ import annotations

from datetime import datetime

from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    audit_checkpoint,
    pin_tables,
    record_checkpoint,
    recorded_pins,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, OperationType


def pre_maintenance_name(table: str, now: datetime) -> str:
    """`pre_maintenance_<table>_<date>`; a second run that day gets a suffix from `names`."""
    return f"pre_maintenance_{table}_{now:%Y-%m-%d}"


def take_pre_maintenance_checkpoint(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    table: str,
    *,
    now: datetime,
    requested_by: str | None = None,
    reason: str | None = None,
) -> Checkpoint:
    """Pin `table`'s current version as a Validated PreMaintenance checkpoint and audit it.

    Call it holding the table's lease, before the first maintenance write. Like a PrePurge
    checkpoint it pins what is there; a version a checkpoint already pinned (the daily sync
    pins each one it writes) reuses that pin's counts and fingerprint instead of a scan.
    """
    pins = pin_tables(lakehouse, [table], known=recorded_pins(store, [table]))
    checkpoint = record_checkpoint(
        lakehouse, store, audit,
        checkpoint_type=CheckpointType.PreMaintenance,
        name=pre_maintenance_name(table, now),
        pins=pins,
        validated=True,
        notes=f"before maintenance: {reason}" if reason else "before maintenance",
        table_name=table,
        requested_by=requested_by,
        created=now,
    )
    audit_checkpoint(audit, checkpoint, OperationType.CheckpointCreated)
    return checkpoint
