"""What to do instead when a checkpoint cannot be a rollback target."""

from __future__ import annotations

from collections.abc import Sequence

from recovery_platform.domain.checkpoints.history import Checkpoint, load_checkpoint
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import ValidationStatus
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


def recommend(
    lakehouse: Lakehouse, store: MetadataStore, refused: Checkpoint, scope: Sequence[str]
) -> str:
    """Name the newest active, validated, restorable checkpoint of the same type, if any."""
    rows = store.rows(
        MetadataTable.CheckpointHistory,
        equals={"CheckpointType": refused.checkpoint_type.value, "IsActive": True,
                "ValidationStatus": ValidationStatus.Validated.value},
    )
    rows.sort(key=lambda r: r["CreatedDate"], reverse=True)
    for row in rows[:MAX_CANDIDATES]:
        if row["CheckpointId"] == refused.checkpoint_id:
            continue
        candidate = load_checkpoint(store, str(row["CheckpointId"]))
        if _restorable(lakehouse, candidate, scope):
            return (f"checkpoint {candidate.name} (id {candidate.checkpoint_id}, created "
                    f"{candidate.created:%Y-%m-%d %H:%M} UTC) is the newest restorable "
                    f"{candidate.checkpoint_type.value} checkpoint for these tables; plan a "
                    f"rollback to it with checkpoint_id: {candidate.checkpoint_id}")
    return (f"no active, validated, restorable {refused.checkpoint_type.value} checkpoint covers "
            f"{', '.join(scope)}; try another checkpoint_type (PrePurge, Manual) or take a "
            f"Manual checkpoint now to protect the current state")
