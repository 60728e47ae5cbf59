"""Integrity proofs: every active checkpoint is shown, weekly, to be restorable still.

A checkpoint that became unrestorable (a data file deleted by hand, a table recreated, files
rewritten under the same names) must be found by a scheduled check, not by someone planning a
rollback to it at 3 a.m. For each checkpoint and each table it pins, the check proves from the
data (`pin_proof`) that the pinned version's log loads, every data file it references exists,
the table id is the recorded one, and the counts recomputed at that version equal the recorded
ones; `deep` mode also recomputes the record-state fingerprint, which catches a data file
replaced by different content the counts cannot tell apart.

Results go to `CheckpointIntegrity` (one row per checkpoint and table) and onto the checkpoint
itself (`IntegrityStatus` Verified or Unrestorable, which the rollback planner refuses). A pin
that could not be checked because storage was unreachable proves nothing either way: its
checkpoint keeps its previous status, and its audit step is a Warning.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from recovery_platform.domain.checkpoints.history import Checkpoint, PinKey, load_checkpoints
from recovery_platform.domain.checkpoints.pin_proof import Found, PinVerdict, examine, judge
from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail, utc_now
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import (
    AuditStatus,
    IntegrityStatus,
    OperationType,
)
from recovery_platform.engine import StorageEngine

UNRESTORABLE_ALERT = "CheckpointUnrestorable"


@dataclass(frozen=True)
class CheckpointVerdict:
    """One checkpoint's result: restorable only if every pin is."""

    checkpoint: Checkpoint
    pins: tuple[PinVerdict, ...]

    @property
    def inconclusive(self) -> bool:
        """Some pin could not be checked and none was found broken."""
        return any(p.inconclusive for p in self.pins) and not self.failed

    @property
    def failed(self) -> tuple[PinVerdict, ...]:
        """Pins proven unrestorable (storage answered, and the answer was no)."""
        return tuple(p for p in self.pins if not p.restorable and not p.inconclusive)

    @property
    def notes(self) -> str | None:
        """Reasons per table, for `IntegrityNotes` and the alert."""
        return " | ".join(f"{p.table}: {p.reason}" for p in self.failed) or None


@dataclass(frozen=True)
class IntegrityOutcome:
    """What one integrity check found; ids and names are parallel, in checkpoint order."""

    mode: str
    checkpoints_checked: int
    verified: tuple[str, ...]
    verified_names: tuple[str, ...]
    unrestorable: tuple[str, ...]
    unrestorable_names: tuple[str, ...]
    inconclusive: tuple[str, ...]
    tables_checked: int
    seconds: float
    verdicts: tuple[CheckpointVerdict, ...]


def check_integrity(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    *,
    deep: bool,
    checkpoint_ids: Sequence[str] | None = None,
) -> IntegrityOutcome:
    """Prove every active checkpoint (or those listed, active or not) restorable, or mark it.

    Reads through `lakehouse.engine.without_memory()`, never the lakehouse's own engine. Writes
    the CheckpointIntegrity rows and the checkpoints' IntegrityStatus in one commit each; queues
    one CheckpointIntegrityValidation audit step per checkpoint and a Critical
    `CheckpointUnrestorable` alert per checkpoint found unrestorable (the caller flushes).
    """
    clock = time.perf_counter()
    mode = "deep" if deep else "shallow"
    if checkpoint_ids is None:
        checkpoints = load_checkpoints(store, active=True)
    else:
        checkpoints = load_checkpoints(store, ids=set(checkpoint_ids))
    checkpoints = [c for c in checkpoints if c.tables]  # a set that pins nothing proves nothing
    found = _examine_all(lakehouse, checkpoints, deep=deep)
    verdicts = [
        CheckpointVerdict(c, tuple(judge(p, found[(p.table, p.version, p.table_id)])
                                   for p in c.tables))
        for c in checkpoints
    ]
    checked_at = utc_now()
    _record(store, audit, verdicts, mode, checked_at)
    for verdict in verdicts:
        _audit(audit, verdict, mode)
    return _outcome(mode, verdicts, time.perf_counter() - clock)


def _examine_all(
    lakehouse: Lakehouse, checkpoints: Sequence[Checkpoint], *, deep: bool
) -> dict[PinKey, Found]:
    """Each distinct pinned (table, version, id) examined once, tables several at a time."""
    engine: StorageEngine = lakehouse.engine.without_memory()
    keys: dict[str, set[PinKey]] = {}
    for checkpoint in checkpoints:
        for pin in checkpoint.tables:
            keys.setdefault(pin.table, set()).add((pin.table, pin.version, pin.table_id))

    def table_work(table: str) -> dict[PinKey, Found]:
        uri, shape = lakehouse.bronze_uri(table), lakehouse.config.table(table).shape
        return {key: examine(engine, uri, shape, key[1], key[2], deep=deep)
                for key in sorted(keys[table])}

    found: dict[PinKey, Found] = {}
    for part in map_tables(engine, sorted(keys), table_work):
        found.update(part)
    return found


def _record(
    store: MetadataStore,
    audit: AuditTrail,
    verdicts: Sequence[CheckpointVerdict],
    mode: str,
    checked_at: datetime,
) -> None:
    """CheckpointIntegrity rows, then each conclusive checkpoint's status: one commit each."""
    rows = [
        {
            "CheckId": str(uuid.uuid4()), "PipelineRunId": audit.run_id,
            "CheckpointId": v.checkpoint.checkpoint_id, "TableName": p.table,
            "DeltaVersion": p.version, "Mode": mode, "Restorable": p.restorable,
            "LogLoads": p.found.log_loads, "MissingFiles": p.found.missing_files,
            "TableIdMatches": p.found.table_id_matches, "CountsMatch": p.counts_match,
            "FingerprintMatches": p.fingerprint_matches, "Reason": p.reason,
            "CheckedAt": checked_at,
        }
        for v in verdicts for p in v.pins
    ]
    store.append(MetadataTable.CheckpointIntegrity, rows)
    statuses = [
        {"CheckpointId": v.checkpoint.checkpoint_id,
         "IntegrityStatus": (IntegrityStatus.Unrestorable if v.failed
                             else IntegrityStatus.Verified).value,
         "IntegrityCheckedAt": checked_at, "IntegrityNotes": v.notes}
        for v in verdicts if not v.inconclusive
    ]
    store.upsert(MetadataTable.CheckpointHistory, statuses, key="CheckpointId")


def _audit(audit: AuditTrail, verdict: CheckpointVerdict, mode: str) -> None:
    """One audit step per checkpoint; a Critical alert when it is proven unrestorable."""
    checkpoint = verdict.checkpoint
    status = (AuditStatus.Failed if verdict.failed
              else AuditStatus.Warning if verdict.inconclusive else AuditStatus.Succeeded)
    audit.record(AuditStep(
        operation=OperationType.CheckpointIntegrityValidation,
        table=checkpoint.tables[0].table if len(checkpoint.tables) == 1 else None,
        status=status,
        checkpoint_id=checkpoint.checkpoint_id,
        error=verdict.notes or (
            "storage unreachable: not checked" if verdict.inconclusive else None),
        details={"name": checkpoint.name, "mode": mode, "tables": {
            p.table: {"version": p.version, "restorable": p.restorable, "reason": p.reason}
            for p in verdict.pins}},
    ))
    if verdict.failed:
        tables = [p.table for p in verdict.failed]
        audit.alert(
            UNRESTORABLE_ALERT,
            f"Checkpoint {checkpoint.name} ({checkpoint.checkpoint_id}, "
            f"{checkpoint.checkpoint_type.value}) can no longer be restored: {verdict.notes}. "
            "The rollback planner now refuses it. Recommended action: plan rollbacks to another "
            "checkpoint (the planner recommends the newest restorable one); find out what "
            f"removed or changed the files of {', '.join(tables)} outside maintenance; take a "
            "Manual checkpoint now if the current state must be protected.",
            table=tables[0] if len(tables) == 1 else None,
            details={"checkpoint_id": checkpoint.checkpoint_id, "mode": mode,
                     "tables": {p.table: p.reason for p in verdict.failed}},
        )


def _outcome(
    mode: str, verdicts: Sequence[CheckpointVerdict], seconds: float
) -> IntegrityOutcome:
    bad = [v.checkpoint for v in verdicts if v.failed]
    good = [v.checkpoint for v in verdicts if not v.failed and not v.inconclusive]
    return IntegrityOutcome(
        mode=mode,
        checkpoints_checked=len(verdicts),
        verified=tuple(c.checkpoint_id for c in good),
        verified_names=tuple(c.name for c in good),
        unrestorable=tuple(c.checkpoint_id for c in bad),
        unrestorable_names=tuple(c.name for c in bad),
        inconclusive=tuple(v.checkpoint.checkpoint_id for v in verdicts if v.inconclusive),
        tables_checked=sum(len(v.pins) for v in verdicts),
        seconds=round(seconds, 3),
        verdicts=tuple(verdicts),
    )
