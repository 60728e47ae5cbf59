"""The purge pipeline (seed section 3): record a source purge so the next sync classifies it.

Writes are ordered and idempotent: (1) mark the purge Pending, (2) take the PrePurge checkpoint,
(3) record the purge date, cutoff and pending flag for every table in one commit. A failure between
steps leaves `PurgeStatus = Pending` with the checkpoint id if one was taken; a re-run with the same
inputs reuses that checkpoint and completes, and the audit trail shows both runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    load_checkpoint,
    pin_tables,
    record_checkpoint,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.fault_injection import crash_point
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.pipeline_config import mirror_config
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, OperationType

MAX_DAYS_AHEAD = 30


@dataclass(frozen=True)
class PurgeRequest:
    """Validated inputs of the purge pipeline."""

    tables: tuple[str, ...]
    purge_date: date
    cutoff_date: date | None
    reason: str
    requested_by: str


def parse_date(value: object, field: str) -> date:
    """An ISO date (YYYY-MM-DD) or an error naming the field."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInputError(field, f"{value!r} is not a date in the form YYYY-MM-DD") from None


def validate_purge_request(
    lakehouse: Lakehouse,
    store: MetadataStore,
    *,
    tables: Sequence[str],
    purge_date: object,
    cutoff_date: object | None,
    reason: str,
    requested_by: str,
    today: date,
) -> PurgeRequest:
    """Check every input before anything is written."""
    if not tables:
        raise InvalidInputError("tables", "list at least one table", lakehouse.config.table_names)
    names = lakehouse.config.validate_table_names(tables, field_name="tables")
    if not requested_by or not requested_by.strip():
        raise InvalidInputError("requested_by", "must name the person recording the purge")
    when = parse_date(purge_date, "purge_date")
    if when > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInputError(
            "purge_date", f"{when} is more than {MAX_DAYS_AHEAD} days ahead of {today}; the "
            "PrePurge checkpoint must be taken shortly before the purge runs in the source",
        )
    last_sync = {
        r["TableName"]: r.get("LastSyncDate") for r in store.rows(MetadataTable.PipelineConfig)
    }
    for table in names:
        synced = last_sync.get(table)
        if synced is not None and when < synced:
            raise InvalidInputError(
                "purge_date", f"{when} is before the last sync of {table} ({synced}); a purge "
                "already reflected in bronze cannot be recorded retroactively",
            )
    cutoff = parse_date(cutoff_date, "cutoff_date") if cutoff_date else None
    return PurgeRequest(names, when, cutoff, reason.strip(), requested_by.strip())


def record_purge(
    lakehouse: Lakehouse, store: MetadataStore, audit: AuditTrail, request: PurgeRequest
) -> Checkpoint:
    """Take (or reuse) the PrePurge checkpoint and record the pending purge."""
    store.ensure_tables(audit.run_id)
    mirror_config(store, lakehouse.config)
    existing = _pending_checkpoint(store, request)
    with audit.step(OperationType.PurgeRecorded) as step:
        step.details = {"tables": list(request.tables), "purge_date": str(request.purge_date),
                        "cutoff_date": str(request.cutoff_date), "phase": "pending"}
        done = _recorded_checkpoint(store, request)
        if done is not None:
            step.checkpoint_id = done.checkpoint_id
            step.details["phase"] = "already recorded; nothing written"
            return done
        if existing is None:
            store.upsert(MetadataTable.PipelineConfig, [
                {"TableName": t, "PurgeStatus": "Pending", "PurgeCheckpointId": None}
                for t in request.tables], key="TableName")
            crash_point("purge.after_pending")
            checkpoint = record_checkpoint(
                lakehouse, store, audit, checkpoint_type=CheckpointType.PrePurge,
                name=f"pre_purge_{request.purge_date:%Y-%m-%d}",
                pins=pin_tables(lakehouse, request.tables), validated=True,
                notes=f"purge on {request.purge_date}: {request.reason}",
                requested_by=request.requested_by,
            )
            store.upsert(MetadataTable.PipelineConfig, [
                {"TableName": t, "PurgeCheckpointId": checkpoint.checkpoint_id}
                for t in request.tables], key="TableName")
        else:
            checkpoint = existing
            step.details["reused_checkpoint"] = checkpoint.checkpoint_id
        step.checkpoint_id = checkpoint.checkpoint_id
        crash_point("purge.after_checkpoint")
        store.upsert(MetadataTable.PipelineConfig, [
            {"TableName": t, "LastPurgeDate": request.purge_date,
             "PurgeCutoffDate": request.cutoff_date, "PurgePending": True,
             "PurgeStatus": "Recorded", "PurgeCheckpointId": checkpoint.checkpoint_id}
            for t in request.tables], key="TableName")
        step.details["phase"] = "recorded"
    return checkpoint


def _recorded_checkpoint(store: MetadataStore, request: PurgeRequest) -> Checkpoint | None:
    """The checkpoint of a completed run with the same inputs: a re-run changes nothing."""
    rows = {r["TableName"]: r for r in store.rows(MetadataTable.PipelineConfig)}
    same = all(
        rows.get(t, {}).get("PurgeStatus") == "Recorded"
        and rows.get(t, {}).get("PurgePending")
        and rows.get(t, {}).get("LastPurgeDate") == request.purge_date
        and rows.get(t, {}).get("PurgeCutoffDate") == request.cutoff_date
        for t in request.tables
    )
    return _shared_checkpoint(store, request, rows, "Recorded") if same else None


def _pending_checkpoint(store: MetadataStore, request: PurgeRequest) -> Checkpoint | None:
    """The PrePurge checkpoint of an interrupted run with the same inputs, if any."""
    rows = {r["TableName"]: r for r in store.rows(MetadataTable.PipelineConfig)}
    return _shared_checkpoint(store, request, rows, "Pending")


def _shared_checkpoint(
    store: MetadataStore, request: PurgeRequest, rows: dict[str, Any], status: str
) -> Checkpoint | None:
    """The one PrePurge checkpoint every requested table points to in `status`, if any."""
    ids = {rows.get(t, {}).get("PurgeCheckpointId") for t in request.tables}
    statuses = {rows.get(t, {}).get("PurgeStatus") for t in request.tables}
    if statuses != {status} or len(ids) != 1 or None in ids:
        return None
    checkpoint = load_checkpoint(store, str(ids.pop()))
    same_tables = {p.table for p in checkpoint.tables} == set(request.tables)
    same_date = checkpoint.name == f"pre_purge_{request.purge_date:%Y-%m-%d}"
    return checkpoint if same_tables and same_date else None
