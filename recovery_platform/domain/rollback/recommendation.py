"""What to do instead when a checkpoint cannot be a rollback target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from recovery_platform.domain.checkpoints.history import Checkpoint, load_checkpoint
from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import IntegrityStatus, ValidationStatus
from recovery_platform.engine import EngineError

MAX_CANDIDATES = 10


def _restorable(lakehouse: Lakehouse, checkpoint: Checkpoint, scope: Sequence[str]) -> bool:
    pinned = {p.table for p in checkpoint.tables}
    if not set(scope) <= pinned:
        return False
    for table in scope:
        pin = checkpoint.pin(table)
        try:
            check = lakehouse.engine.is_restorable(
                lakehouse.bronze_uri(table), pin.version, pin.table_id
            )
        except EngineError:
            return False
        if not check.restorable:
            return False
    return True


def _candidate(row: Mapping[str, Any], refused: Checkpoint, today: date) -> bool:
    """Still a target by its record: not the refused one, not expired, not Unrestorable."""
    return (row["CheckpointId"] != refused.checkpoint_id and row["RetentionDate"] >= today
            and row.get("IntegrityStatus") != IntegrityStatus.Unrestorable.value)


def recommend(
    lakehouse: Lakehouse,
    store: MetadataStore,
    refused: Checkpoint,
    scope: Sequence[str],
    *,
    today: date | None = None,
) -> str:
    """Name the newest active, validated, restorable checkpoint of the same type, if any.

    Expired checkpoints (RetentionDate before `today`, UTC now by default) and those the
    integrity check found Unrestorable are skipped even while still active: the planner
    would refuse them too.
    """
    day = today or utc_now().date()
    rows = [r for r in store.rows(
        MetadataTable.CheckpointHistory,
        equals={"CheckpointType": refused.checkpoint_type.value, "IsActive": True,
                "ValidationStatus": ValidationStatus.Validated.value},
    ) if _candidate(r, refused, day)]
    rows.sort(key=lambda r: r["CreatedDate"], reverse=True)
    for row in rows[:MAX_CANDIDATES]:
        candidate = load_checkpoint(store, str(row["CheckpointId"]))
        if _restorable(lakehouse, candidate, scope):
            return (f"checkpoint {candidate.name} (id {candidate.checkpoint_id}, created "
                    f"{candidate.created:%Y-%m-%d %H:%M} UTC) is the newest restorable "
                    f"{candidate.checkpoint_type.value} checkpoint for these tables; plan a "
                    f"rollback to it with checkpoint_id: {candidate.checkpoint_id}")
    return (f"no active, validated, restorable {refused.checkpoint_type.value} checkpoint covers "
            f"{', '.join(scope)}; try another checkpoint_type (PrePurge, Manual) or take a "
            f"Manual checkpoint now to protect the current state")
