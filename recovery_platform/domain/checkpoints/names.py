"""Checkpoint names: how the platform names restore points, and why a name means one checkpoint.

An operator rolls back by name, so a name is unique within its checkpoint type (per table for the
per-table Daily type). A name the platform generates that is already taken (a re-run of the
daily sync for the same date, a resumed rollback) takes the first free suffix `_2`, `_3`, ...; a
Manual name an admin chose is never changed, so a taken one is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType


def daily_checkpoint_name(day: date) -> str:
    """The seed's per-table Daily name: `bronze_backup_YYYY-MM-DD` (UTC date)."""
    return f"bronze_backup_{day:%Y-%m-%d}"


def batch_checkpoint_name(finished: datetime, run_id: str) -> str:
    """A DailyBatch name, unique per run: `bronze_batch_<UTC time>_<run id prefix>`."""
    return f"bronze_batch_{finished:%Y-%m-%dT%H%M%SZ}_{run_id[:8]}"


NameKey = tuple[str, str | None, str]
"""(checkpoint type, table for Daily else None, name): names are unique per key."""


def name_key(row: Mapping[str, Any]) -> NameKey:
    """Unique within its type; the per-table Daily type repeats a day's name once per table."""
    kind = str(row["CheckpointType"])
    table = row["TableName"] if kind == CheckpointType.Daily else None
    return kind, table, str(row["CheckpointName"])


def taken_names(store: MetadataStore, kinds: Collection[str]) -> dict[NameKey, str]:
    """Every recorded checkpoint name of these types (expired ones too), with its id."""
    rows = store.read(MetadataTable.CheckpointHistory, columns=[
        "CheckpointId", "CheckpointName", "CheckpointType", "TableName"]).to_pylist()
    return {name_key(r): str(r["CheckpointId"]) for r in rows if r["CheckpointType"] in kinds}


def _manual_name_taken(name: str, owner: str) -> InvalidInputError:
    return InvalidInputError("checkpoint_name", f"{name!r} is already the name of Manual "
                             f"checkpoint {owner}; checkpoint names are unique, choose another")


def refuse_taken_manual_name(store: MetadataStore, name: str) -> None:
    """Refuse a Manual name another checkpoint has: an admin chose it, it is never changed."""
    owner = taken_names(store, [CheckpointType.Manual]).get((CheckpointType.Manual, None, name))
    if owner is not None:
        raise _manual_name_taken(name, owner)


def free_name(key: NameKey, taken: Mapping[NameKey, str]) -> tuple[str, str | None]:
    """The name to record under `key`, and a note when it had to change.

    Raises:
        InvalidInputError: a Manual name another checkpoint already has.
    """
    kind, scope, name = key
    owner = taken.get(key)
    if owner is None:
        return name, None
    if kind == CheckpointType.Manual:
        raise _manual_name_taken(name, owner)
    suffix = 2
    while (kind, scope, f"{name}_{suffix}") in taken:
        suffix += 1
    return f"{name}_{suffix}", f"{name} was taken by checkpoint {owner}"
