"""What an operator asks of a rollback, checked before anything is read or written.

Every refusal names the field at fault and what is allowed, so that a 3 a.m. operator can fix
the launchpad config without reading code.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    load_checkpoint,
    resolve_checkpoint,
)
from recovery_platform.domain.lakehouse.errors import CheckpointSelectionError, InvalidInputError
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, ValidationStatus

ROLLBACK_TARGET_TYPES = (
    CheckpointType.DailyBatch,
    CheckpointType.PrePurge,
    CheckpointType.Manual,
    CheckpointType.PreRollback,
    CheckpointType.PostRollback,
)


@dataclass(frozen=True)
class RollbackRequest:
    """A validated rollback request."""

    checkpoint_name: str | None
    checkpoint_id: str | None
    restore_before: datetime | None
    checkpoint_type: CheckpointType
    tables_scope: tuple[str, ...] | None
    require_approval: bool
    dry_run: bool
    reason: str
    requested_by: str
    approved_plan_id: str | None
    approved_by: str | None

    @property
    def applies(self) -> bool:
        """Whether this run may change tables (otherwise it only plans)."""
        if self.dry_run:
            return False
        return not self.require_approval or self.approved_plan_id is not None


def parse_timestamp(value: str, field: str) -> datetime:
    """An ISO timestamp; UTC when it carries no offset."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(
            field, f"{value!r} is not an ISO timestamp such as 2026-01-15T02:30:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def validate_request(
    config: PlatformConfig,
    *,
    checkpoint_name: str = "",
    checkpoint_id: str = "",
    restore_before: str = "",
    checkpoint_type: str = CheckpointType.DailyBatch.value,
    tables_scope: Sequence[str] | None = None,
    require_approval: bool = True,
    dry_run: bool = True,
    reason: str = "",
    requested_by: str = "",
    approved_plan_id: str = "",
    approved_by: str = "",
) -> RollbackRequest:
    """Check every field; the first problem found is raised, naming its field."""
    if not requested_by or not requested_by.strip():
        raise InvalidInputError("requested_by", "must name the admin asking for the rollback")
    chosen = [f for f, v in (("checkpoint_name", checkpoint_name),
                             ("checkpoint_id", checkpoint_id),
                             ("restore_before", restore_before)) if v and v.strip()]
    if len(chosen) != 1 and not approved_plan_id:
        raise InvalidInputError(
            "checkpoint_name", "give exactly one of checkpoint_name, checkpoint_id or "
            f"restore_before (got {', '.join(chosen) or 'none'})",
        )
    allowed_types = [t.value for t in ROLLBACK_TARGET_TYPES]
    if checkpoint_type not in allowed_types:
        raise InvalidInputError("checkpoint_type", f"{checkpoint_type!r} is not a rollback "
                                "target type", allowed=allowed_types)
    scope = (config.validate_table_names(tables_scope, field_name="tables_scope")
             if tables_scope else None)
    if approved_by and not approved_plan_id:
        raise InvalidInputError("approved_plan_id", "approved_by needs the plan id it approves")
    if approved_plan_id and not approved_by.strip():
        raise InvalidInputError("approved_by", "name who approved the plan")
    return RollbackRequest(
        checkpoint_name=checkpoint_name.strip() or None,
        checkpoint_id=checkpoint_id.strip() or None,
        restore_before=(parse_timestamp(restore_before, "restore_before")
                        if restore_before.strip() else None),
        checkpoint_type=CheckpointType(checkpoint_type),
        tables_scope=scope,
        require_approval=require_approval,
        dry_run=dry_run,
        reason=reason.strip(),
        requested_by=requested_by.strip(),
        approved_plan_id=approved_plan_id.strip() or None,
        approved_by=approved_by.strip() or None,
    )


@dataclass(frozen=True)
class SelectedCheckpoint:
    """The checkpoint a request resolves to, and why, in words the plan shows."""

    checkpoint: Checkpoint
    why: str


def select_checkpoint(store: MetadataStore, request: RollbackRequest) -> SelectedCheckpoint:
    """Resolve the request's checkpoint reference to exactly one checkpoint."""
    if request.checkpoint_id:
        try:
            found = load_checkpoint(store, request.checkpoint_id)
        except CheckpointSelectionError as exc:
            raise CheckpointSelectionError(f"field 'checkpoint_id': {exc}") from None
        return SelectedCheckpoint(found, f"checkpoint_id {found.checkpoint_id}")
    if request.checkpoint_name:
        try:
            found = resolve_checkpoint(store, name=request.checkpoint_name,
                                       checkpoint_type=request.checkpoint_type)
        except CheckpointSelectionError as exc:
            raise CheckpointSelectionError(
                f"field 'checkpoint_name': {exc}"
                + _closest_names(store, request.checkpoint_name, request.checkpoint_type)
            ) from None
        return SelectedCheckpoint(
            found, f"checkpoint_name {found.name} of type {found.checkpoint_type.value}"
        )
    assert request.restore_before is not None
    return _latest_before(store, request.checkpoint_type, request.restore_before)


def _closest_names(store: MetadataStore, name: str, kind: CheckpointType) -> str:
    """Up to five existing names of that type nearest to a name that matched none."""
    rows = store.read(MetadataTable.CheckpointHistory, equals={"CheckpointType": kind.value},
                      columns=["CheckpointName"])
    names = sorted(set(rows.column("CheckpointName").to_pylist()))
    if name in names:
        return ""
    closest = difflib.get_close_matches(name, names, n=5, cutoff=0.0)
    if not closest:
        return f"; there is no {kind.value} checkpoint yet"
    return f"; closest {kind.value} checkpoint names: {', '.join(closest)}"


def _latest_before(
    store: MetadataStore, kind: CheckpointType, before: datetime
) -> SelectedCheckpoint:
    rows = store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointType": kind.value})
    candidates = [
        r for r in rows
        if r["CreatedDate"] < before and r["IsActive"]
        and r["ValidationStatus"] == ValidationStatus.Validated.value
    ]
    if not candidates:
        raise CheckpointSelectionError(
            f"field 'restore_before': no active, validated {kind.value} checkpoint was created "
            f"before {before.isoformat()}"
        )
    best = max(candidates, key=lambda r: r["CreatedDate"])
    skipped = len([r for r in rows if r["CreatedDate"] < before]) - len(candidates)
    found = load_checkpoint(store, str(best["CheckpointId"]))
    why = (f"latest active, validated {kind.value} checkpoint created before "
           f"{before.isoformat()}: {found.name} at {found.created.isoformat()}"
           + (f" ({skipped} older or invalid candidates skipped)" if skipped else ""))
    return SelectedCheckpoint(found, why)
