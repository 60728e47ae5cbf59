"""Manual checkpoints: an admin pins chosen tables before a risky change."""

from __future__ import annotations

import re
from collections.abc import Sequence

from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    audit_checkpoint,
    pin_tables,
    record_checkpoint,
    recorded_pins,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, OperationType
from recovery_platform.domain.sync.validation import record_validations, validate_table

CHECKPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


def create_manual_checkpoint(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    *,
    name: str,
    tables: Sequence[str] | None,
    reason: str,
    requested_by: str,
    long_term: bool = False,
) -> Checkpoint:
    """Validate inputs, pin and validate each table, and record one Manual checkpoint."""
    if not CHECKPOINT_NAME.match(name or ""):
        raise InvalidInputError(
            "checkpoint_name", f"{name!r} must be 1-100 characters of letters, digits, _ . : -"
        )
    if not requested_by or not requested_by.strip():
        raise InvalidInputError("requested_by", "must name the person taking the checkpoint")
    names = lakehouse.config.validate_table_names(tables or None, field_name="tables")
    store.ensure_tables(audit.run_id)
    # versions first, so each table's relations are checked against the parent versions pinned
    # here: a rollback's proof relies on a Validated checkpoint having checked exactly those
    versions = dict(zip(names, map_tables(
        lakehouse.engine, names, lambda t: lakehouse.engine.state(lakehouse.bronze_uri(t)).version
    ), strict=True))
    validations = list(map_tables(lakehouse.engine, names, lambda t: validate_table(
        lakehouse, t, version=versions[t], parent_versions=versions)))
    pins = pin_tables(lakehouse, names, versions, known=recorded_pins(store, names))
    failed = [f"{v.table}: {'; '.join(v.failures)}" for v in validations if not v.passed]
    checkpoint = record_checkpoint(
        lakehouse, store, audit, checkpoint_type=CheckpointType.Manual, name=name, pins=pins,
        validated=not failed, requested_by=requested_by.strip(), long_term=long_term,
        notes=reason + ("" if not failed else " | not validated: " + " | ".join(failed)),
        table_name=names[0] if len(names) == 1 else None,
    )
    record_validations(store, validations, run_id=audit.run_id, context="ManualCheckpoint")
    audit_checkpoint(audit, checkpoint, OperationType.ManualCheckpoint)
    return checkpoint
