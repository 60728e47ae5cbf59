"""The PostRollback checkpoint: the restored state pinned, so a rollback can itself be rolled back.

Recorded only when every table restored and proved; the before and after states are snapshotted
either way (`RollbackStateSnapshots`), so a partial rollback still shows what it changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    PinnedTable,
    pin_table,
    record_checkpoint,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, OperationType
from recovery_platform.domain.rollback.outcome import TableRestoreOutcome
from recovery_platform.domain.rollback.proof import snapshot_rows
from recovery_platform.domain.rollback.record import RecordedPlan


def _after_pins(
    lakehouse: Lakehouse, target: Checkpoint, checked: Sequence[TableRestoreOutcome]
) -> list[PinnedTable]:
    """Pins of the restored tables; one whose proof could not read it has none to give.

    A table its proof found on the target's data files has the target's content: its pin
    takes the recounted counts and the target's fingerprint instead of reading it again.
    """
    def pin(outcome: TableRestoreOutcome) -> PinnedTable | None:
        try:
            check = outcome.check
            if check is not None and check.passed and check.same_files:
                return pin_table(lakehouse, outcome.table, version=check.version,
                                 fingerprint=target.pin(outcome.table).fingerprint)
            return pin_table(lakehouse, outcome.table)
        except Exception:  # already reported failed by its proof; the others are still pinned
            if outcome.check is not None and outcome.check.passed:
                raise
            return None

    by_table = {o.table: o for o in checked if o.check is not None}
    pinned = map_tables(lakehouse.engine, list(by_table), lambda table: pin(by_table[table]))
    return [p for p in pinned if p is not None]


def post_rollback_checkpoint(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    recorded: RecordedPlan,
    target: Checkpoint,
    pre: Checkpoint,
    checked: Sequence[TableRestoreOutcome],
) -> Checkpoint | None:
    """Pin the result after a fully successful rollback; snapshot before/after states."""
    after_pins = _after_pins(lakehouse, target, checked)
    store.append(MetadataTable.RollbackStateSnapshots, [
        *snapshot_rows([pre.pin(t) for t in recorded.scope], phase="Before", run_id=audit.run_id,
                       plan_id=recorded.plan_id),
        *snapshot_rows(after_pins, phase="After", run_id=audit.run_id, plan_id=recorded.plan_id),
    ])
    if not all(o.check is not None and o.check.passed for o in checked):
        return None
    with audit.step(OperationType.PostRollbackCheckpoint) as step:
        checkpoint = record_checkpoint(
            lakehouse, store, audit, checkpoint_type=CheckpointType.PostRollback,
            name=f"post_rollback_{recorded.plan_id[:8]}", pins=after_pins, validated=True,
            notes=(f"after rollback to {target.name} (checkpoint {target.checkpoint_id}); "
                   f"plan {recorded.plan_id}; undo with PreRollback checkpoint {pre.name} "
                   f"({pre.checkpoint_id})"),
            requested_by=audit.actor.requested_by,
        )
        step.checkpoint_id = checkpoint.checkpoint_id
        step.details = {"plan_id": recorded.plan_id, "original": target.checkpoint_id,
                        "pre_rollback": pre.checkpoint_id}
    return checkpoint
