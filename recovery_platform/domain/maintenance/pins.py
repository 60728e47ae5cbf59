"""Which versions of a table a vacuum must keep: those active checkpoints pin, and the latest.

A checkpoint is a promise that its pinned version can be restored until its retention date.
The vacuum keeps every file those versions need, so the set is read from the metadata (one
read of each checkpoint table for the whole run) and matched to the table's current id: a pin
of a table that was since recreated names a version of another table and protects nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.engine import TableState


@dataclass(frozen=True)
class ActivePin:
    """One table version pinned by an active checkpoint."""

    checkpoint_id: str
    checkpoint_name: str
    checkpoint_type: str
    version: int
    table_id: str
    retention_date: date

    @property
    def label(self) -> str:
        """How reports name the checkpoint: its name, type and id."""
        return f"{self.checkpoint_name} ({self.checkpoint_type}, {self.checkpoint_id})"


def active_pins(store: MetadataStore, tables: Sequence[str]) -> dict[str, tuple[ActivePin, ...]]:
    """Pins of active checkpoints for each of `tables` (two metadata reads).

    Checkpoints past their retention date that expiry has not deactivated yet are included;
    `kept_versions` tells them apart.
    """
    parents = {
        row["CheckpointId"]: row
        for row in store.rows(MetadataTable.CheckpointHistory, equals={"IsActive": True})
    }
    found: dict[str, list[ActivePin]] = {table: [] for table in tables}
    for row in store.rows(MetadataTable.CheckpointTables):
        parent = parents.get(row["CheckpointId"])
        if parent is None or row["TableName"] not in found:
            continue
        found[row["TableName"]].append(ActivePin(
            checkpoint_id=str(row["CheckpointId"]),
            checkpoint_name=str(parent["CheckpointName"]),
            checkpoint_type=str(parent["CheckpointType"]),
            version=int(row["DeltaVersion"]),
            table_id=str(row["TableId"]),
            retention_date=parent["RetentionDate"],
        ))
    return {table: tuple(pins) for table, pins in found.items()}


@dataclass(frozen=True)
class KeptVersions:
    """The versions one vacuum keeps, and the checkpoints that ask for each."""

    latest: int
    pins: tuple[ActivePin, ...] = ()
    expired: tuple[ActivePin, ...] = ()
    """Pins of checkpoints still active but past their retention date: not kept."""

    @property
    def versions(self) -> tuple[int, ...]:
        """Every pinned version and the latest, ascending."""
        return tuple(sorted({self.latest, *(p.version for p in self.pins)}))

    def pinned_by(self, version: int) -> tuple[str, ...]:
        """Labels of the active checkpoints, expired ones included, pinning `version`."""
        every = (*self.pins, *self.expired)
        return tuple(sorted({p.label for p in every if p.version == version}))

    @property
    def checkpoint_labels(self) -> tuple[str, ...]:
        """Every checkpoint behind the kept versions."""
        return tuple(sorted({p.label for p in self.pins}))


def kept_versions(pins: Sequence[ActivePin], state: TableState, today: date) -> KeptVersions:
    """The kept versions of a table now at `state`: unexpired pins of its current id, the latest.

    A checkpoint whose retention date has passed keeps nothing (the rollback planner refuses
    it already), even before expiry deactivates it.
    """
    own = [p for p in pins if p.table_id == state.table_id and p.version <= state.version]
    return KeptVersions(
        latest=state.version,
        pins=tuple(p for p in own if p.retention_date >= today),
        expired=tuple(p for p in own if p.retention_date < today),
    )
