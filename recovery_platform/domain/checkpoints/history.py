"""Checkpoints: named restore points that pin exact Delta versions, counts and fingerprints.

A checkpoint is metadata (like a Git tag); Delta Lake keeps the data. Pinning the version removes
any timestamp ambiguity, and pinning counts and a fingerprint lets a rollback prove its result.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from recovery_platform.domain.checkpoints.names import (
    free_name,
    name_key,
    refuse_taken_manual_name,
    taken_names,
)
from recovery_platform.domain.checkpoints.retention import days_to_keep, ensure_retention
from recovery_platform.domain.lakehouse.audit import AuditTrail, utc_now
from recovery_platform.domain.lakehouse.errors import (
    CheckpointSelectionError,
)
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import (
    CheckpointType,
    IntegrityStatus,
    OperationType,
    ValidationStatus,
)
from recovery_platform.engine import RowCounts, TableState


def format_fingerprint(value: int) -> str:
    """Fingerprints are stored as 16 hex digits: no engine has an unsigned 64-bit column."""
    return f"{value:016x}"


@dataclass(frozen=True)
class PinnedTable:
    """One table as a checkpoint pins it."""

    table: str
    version: int
    commit_timestamp: datetime
    table_id: str
    counts: RowCounts
    fingerprint: int
    validated: bool = True

    def as_row(self, checkpoint_id: str) -> dict[str, object]:
        """The `CheckpointTables` row for this pin."""
        return {
            "CheckpointId": checkpoint_id,
            "TableName": self.table,
            "DeltaVersion": self.version,
            "CommitTimestamp": self.commit_timestamp,
            "TableId": self.table_id,
            "TotalRows": self.counts.total,
            "ActiveRows": self.counts.active,
            "DeletedRows": self.counts.deleted,
            "PurgedRows": self.counts.purged,
            "NullKeys": self.counts.null_keys,
            "Fingerprint": format_fingerprint(self.fingerprint),
            "ValidationStatus": (
                ValidationStatus.Validated if self.validated else ValidationStatus.Failed
            ).value,
        }


@dataclass(frozen=True)
class Checkpoint:
    """A recorded checkpoint with its pinned tables."""

    checkpoint_id: str
    name: str
    checkpoint_type: CheckpointType
    created: datetime
    status: ValidationStatus
    retention_date: date
    is_active: bool
    tables: tuple[PinnedTable, ...]
    notes: str | None = None
    integrity_status: IntegrityStatus | None = None
    """What the last integrity check found (`integrity`); None before the first."""
    integrity_notes: str | None = None
    integrity_checked_at: datetime | None = None

    def expired(self, today: date) -> bool:
        """Its retention date has passed, whether or not expiry has deactivated it yet."""
        return self.retention_date < today

    def pin(self, table: str) -> PinnedTable:
        """The pin of one table; KeyError if the checkpoint does not include it."""
        for pinned in self.tables:
            if pinned.table == table:
                return pinned
        raise KeyError(table)


def pin_table(
    lakehouse: Lakehouse, table: str, *, version: int | None = None, fingerprint: int | None = None
) -> PinnedTable:
    """Read a table's version, counts and fingerprint, all at one exact version.

    `fingerprint` is given only where the version is known to hold data files whose
    fingerprint is already pinned (a proven restore); the counts are always read.
    """
    uri = lakehouse.bronze_uri(table)
    engine = lakehouse.engine
    state = engine.state(uri, version)
    shape = lakehouse.config.table(table).shape
    if fingerprint is None:
        counts, fingerprint = engine.counts_and_fingerprint(uri, shape, state.version)
    else:
        counts = engine.row_counts(uri, shape, state.version)
    return PinnedTable(
        table=table,
        version=state.version,
        commit_timestamp=state.timestamp,
        table_id=state.table_id,
        counts=counts,
        fingerprint=fingerprint,
    )


PinKey = tuple[str, int, str]
"""(table, Delta version, table id): names content that never changes."""


def pin_tables(
    lakehouse: Lakehouse,
    tables: Sequence[str],
    versions: Mapping[str, int] | None = None,
    *,
    known: Mapping[PinKey, PinnedTable] | None = None,
) -> list[PinnedTable]:
    """Pin many tables (at `versions`, else their latest), several at once, in table order.

    A version some checkpoint already pinned (same table id) reuses that pin's counts and
    fingerprint instead of scanning again: see `recorded_pins`.
    """
    wanted = versions or {}
    reusable = known or {}

    def pin(table: str) -> PinnedTable:
        state = lakehouse.engine.state(lakehouse.bronze_uri(table), wanted.get(table))
        earlier = reusable.get((table, state.version, state.table_id))
        if earlier is not None:
            return replace(earlier, commit_timestamp=state.timestamp, validated=True)
        return pin_table(lakehouse, table, version=state.version)

    return list(map_tables(lakehouse.engine, tables, pin))


def recorded_pins(store: MetadataStore, tables: Collection[str]) -> dict[PinKey, PinnedTable]:
    """Every recorded pin of `tables`, by (table, version, table id), from one metadata read."""
    found: dict[PinKey, PinnedTable] = {}
    for row in store.rows(MetadataTable.CheckpointTables):
        if row["TableName"] in tables:
            pinned = _pin_from_row(row)
            found[(pinned.table, pinned.version, pinned.table_id)] = pinned
    return found


def counts_at(
    lakehouse: Lakehouse,
    table: str,
    state: TableState,
    known: Mapping[PinKey, PinnedTable] | None = None,
) -> RowCounts:
    """A version's counts: those a checkpoint pinned for it (same table id), else counted."""
    pinned = (known or {}).get((table, state.version, state.table_id))
    if pinned is not None:
        return pinned.counts
    return lakehouse.engine.row_counts(lakehouse.bronze_uri(table),
                                       lakehouse.config.table(table).shape, state.version)


@dataclass(frozen=True)
class StagedCheckpoint:
    """A checkpoint whose rows are ready to write, so many can share one commit."""

    checkpoint: Checkpoint
    parent_row: dict[str, object]
    child_rows: tuple[dict[str, object], ...]


def stage_checkpoint(
    lakehouse: Lakehouse,
    audit: AuditTrail,
    *,
    checkpoint_type: CheckpointType,
    name: str,
    pins: Sequence[PinnedTable],
    validated: bool,
    notes: str | None = None,
    table_name: str | None = None,
    requested_by: str | None = None,
    long_term: bool = False,
    created: datetime | None = None,
    frozen: Collection[str] = (),
) -> StagedCheckpoint:
    """Secure retention for a checkpoint and build its rows (nothing is written to metadata).

    Retention is the longest of the pinned tables' retention for this type; each table's Delta
    retention properties are raised to cover it before the checkpoint can be recorded, except
    `frozen` tables, which must not be written at all (a sync held by the mass-deletion guard):
    only a checkpoint that is not validated may pin them.
    """
    if validated and frozen:
        raise ValueError("a validated checkpoint cannot pin tables it may not secure")
    created = created or utc_now()
    config = lakehouse.config
    tables = [p.table for p in pins] or [config.table_names[0]]
    days = max(
        config.table(t).retention_for(checkpoint_type, long_term=long_term) for t in tables
    )
    retention_date = (created + timedelta(days=days)).date()
    # a pinned version may be older than today: its log entries must outlive the retention date
    keep = {p.table: days_to_keep(p.commit_timestamp, retention_date)
            for p in pins if p.table not in frozen}
    list(map_tables(lakehouse.engine, list(keep),
                    lambda table: ensure_retention(lakehouse, table, keep[table], audit)))
    checkpoint_id = str(uuid.uuid4())
    status = ValidationStatus.Validated if validated else ValidationStatus.Failed
    parent: dict[str, object] = {
        "CheckpointId": checkpoint_id,
        "CheckpointName": name,
        "CheckpointType": checkpoint_type.value,
        "CreatedDate": created,
        "TablesIncluded": len(pins),
        "TotalRows": sum(p.counts.total for p in pins),
        "ValidationStatus": status.value,
        "RetentionDate": retention_date,
        "IsActive": True,
        "TableName": table_name,
        "Notes": notes,
        "PipelineRunId": audit.run_id,
        "RequestedBy": requested_by,
        "LongTerm": long_term,
    }
    checkpoint = Checkpoint(
        checkpoint_id=checkpoint_id,
        name=name,
        checkpoint_type=checkpoint_type,
        created=created,
        status=status,
        retention_date=retention_date,
        is_active=True,
        tables=tuple(pins),
        notes=notes,
    )
    children = tuple(p.as_row(checkpoint_id) for p in pins)
    return StagedCheckpoint(checkpoint=checkpoint, parent_row=parent, child_rows=children)


def _with_free_names(
    store: MetadataStore, staged: Sequence[StagedCheckpoint]
) -> list[StagedCheckpoint]:
    """The staged checkpoints, each under a name no other checkpoint of its type has (`names`)."""
    taken = taken_names(store, {s.checkpoint.checkpoint_type.value for s in staged})
    named = []
    for item in staged:
        name, why = free_name(name_key(item.parent_row), taken)
        if why is not None:
            item = _renamed(item, name, why)
        taken[name_key(item.parent_row)] = item.checkpoint.checkpoint_id
        named.append(item)
    return named


def _renamed(staged: StagedCheckpoint, name: str, why: str) -> StagedCheckpoint:
    notes = f"{staged.checkpoint.notes} | {why}" if staged.checkpoint.notes else why
    return StagedCheckpoint(
        checkpoint=replace(staged.checkpoint, name=name, notes=notes),
        parent_row={**staged.parent_row, "CheckpointName": name, "Notes": notes},
        child_rows=staged.child_rows,
    )


def write_checkpoints(
    store: MetadataStore, staged: Sequence[StagedCheckpoint]
) -> list[Checkpoint]:
    """Write staged checkpoints under unique names; returns them as written, in order.

    All pins go in one commit, then all parent rows in one commit: parents come last so that a
    reader never sees a checkpoint without its pins. A name already taken is made unique first
    (`_with_free_names`), so the returned names may differ from the staged ones.
    """
    named = _with_free_names(store, staged)
    store.append(MetadataTable.CheckpointTables, [r for s in named for r in s.child_rows])
    store.append(MetadataTable.CheckpointHistory, [s.parent_row for s in named])
    return [s.checkpoint for s in named]


def record_checkpoint(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    **options: Any,
) -> Checkpoint:
    """Stage and write one checkpoint; `options` are those of `stage_checkpoint`.

    A taken Manual name is refused before retention is secured, so the refusal changes nothing.
    """
    if options.get("checkpoint_type") == CheckpointType.Manual:
        refuse_taken_manual_name(store, str(options["name"]))
    staged = stage_checkpoint(lakehouse, audit, **options)
    return write_checkpoints(store, [staged])[0]


def load_checkpoint(store: MetadataStore, checkpoint_id: str) -> Checkpoint:
    """A checkpoint and its pins by id."""
    rows = store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointId": checkpoint_id})
    if not rows:
        raise CheckpointSelectionError(f"no checkpoint has id {checkpoint_id!r}")
    return _from_rows(rows[0], store)


def _pin_from_row(c: Mapping[str, Any]) -> PinnedTable:
    return PinnedTable(
        table=str(c["TableName"]),
        version=int(c["DeltaVersion"]),
        commit_timestamp=c["CommitTimestamp"],
        table_id=str(c["TableId"]),
        counts=RowCounts(
            total=int(c["TotalRows"]),
            active=int(c["ActiveRows"]),
            deleted=int(c["DeletedRows"]),
            purged=int(c["PurgedRows"]),
            null_keys=int(c["NullKeys"]),
        ),
        fingerprint=int(str(c["Fingerprint"]), 16),
        validated=c["ValidationStatus"] == ValidationStatus.Validated.value,
    )


def _from_rows(row: dict[str, Any], store: MetadataStore) -> Checkpoint:
    children = store.rows(
        MetadataTable.CheckpointTables, equals={"CheckpointId": row["CheckpointId"]}
    )
    return _checkpoint(row, children)


def load_checkpoints(
    store: MetadataStore, *, active: bool | None = None, ids: Collection[str] | None = None
) -> list[Checkpoint]:
    """Many checkpoints with their pins from one read of each checkpoint table, oldest first.

    `active` keeps only active (True) or inactive (False) ones; `ids` only those listed.
    """
    equals = {} if active is None else {"IsActive": active}
    parents = [r for r in store.rows(MetadataTable.CheckpointHistory, equals=equals)
               if ids is None or r["CheckpointId"] in ids]
    wanted = {r["CheckpointId"] for r in parents}
    children: dict[str, list[dict[str, Any]]] = {c: [] for c in wanted}
    for child in store.rows(MetadataTable.CheckpointTables):
        if child["CheckpointId"] in wanted:
            children[child["CheckpointId"]].append(child)
    parents.sort(key=lambda r: r["CreatedDate"])
    return [_checkpoint(r, children[r["CheckpointId"]]) for r in parents]


def _checkpoint(row: Mapping[str, Any], children: Sequence[Mapping[str, Any]]) -> Checkpoint:
    pins = tuple(_pin_from_row(c) for c in sorted(children, key=lambda c: str(c["TableName"])))
    integrity = row.get("IntegrityStatus")
    return Checkpoint(
        checkpoint_id=str(row["CheckpointId"]),
        name=str(row["CheckpointName"]),
        checkpoint_type=CheckpointType(str(row["CheckpointType"])),
        created=row["CreatedDate"],
        status=ValidationStatus(str(row["ValidationStatus"])),
        retention_date=row["RetentionDate"],
        is_active=bool(row["IsActive"]),
        tables=pins,
        notes=row.get("Notes"),
        integrity_status=IntegrityStatus(integrity) if integrity else None,
        integrity_notes=row.get("IntegrityNotes"),
        integrity_checked_at=row.get("IntegrityCheckedAt"),
    )


def resolve_checkpoint(
    store: MetadataStore,
    *,
    name: str | None = None,
    checkpoint_id: str | None = None,
    checkpoint_type: CheckpointType | None = None,
    table: str | None = None,
) -> Checkpoint:
    """Exactly one checkpoint for an id, or a name (and type); otherwise a listing error."""
    if checkpoint_id:
        return load_checkpoint(store, checkpoint_id)
    if not name:
        raise CheckpointSelectionError("give a checkpoint name or a checkpoint id")
    equals: dict[str, str | None] = {"CheckpointName": name}
    if checkpoint_type is not None:
        equals["CheckpointType"] = CheckpointType(checkpoint_type).value
    if table is not None:
        equals["TableName"] = table
    rows = store.rows(MetadataTable.CheckpointHistory, equals=equals)
    if len(rows) == 1:
        return _from_rows(rows[0], store)
    kind = f" of type {checkpoint_type.value}" if checkpoint_type else ""
    if not rows:
        raise CheckpointSelectionError(f"no checkpoint named {name!r}{kind}")
    listing = "; ".join(
        f"{r['CheckpointId']} ({r['CheckpointType']}, table {r['TableName'] or 'all'}, "
        f"{r['CreatedDate']:%Y-%m-%d %H:%M:%S})"
        for r in sorted(rows, key=lambda r: r["CreatedDate"])
    )
    raise CheckpointSelectionError(
        f"{len(rows)} checkpoints are named {name!r}{kind}; choose one by checkpoint_id: {listing}"
    )


def audit_checkpoint(audit: AuditTrail, checkpoint: Checkpoint, operation: OperationType) -> None:
    """Audit a recorded checkpoint with its key facts."""
    with audit.step(operation, checkpoint.tables[0].table if len(checkpoint.tables) == 1 else None
                    ) as step:
        step.checkpoint_id = checkpoint.checkpoint_id
        step.details = {
            "name": checkpoint.name,
            "type": checkpoint.checkpoint_type.value,
            "status": checkpoint.status.value,
            "tables": {p.table: p.version for p in checkpoint.tables},
        }
