"""Errors the domain raises for operators: each names what to fix."""

from __future__ import annotations

from collections.abc import Iterable


class InvalidInputError(ValueError):
    """A config field or parameter holds a value the platform refuses; nothing was changed."""

    def __init__(self, field: str, problem: str, allowed: Iterable[str] | None = None) -> None:
        allowed_text = f"; allowed: {', '.join(allowed)}" if allowed is not None else ""
        super().__init__(f"field '{field}': {problem}{allowed_text}. Nothing was changed.")
        self.field = field


class CheckpointSelectionError(ValueError):
    """A checkpoint reference matches none or several checkpoints."""


class TableLeaseError(RuntimeError):
    """Another run holds the table's lease: two writers of one table are never allowed."""


class SyncHeldError(RuntimeError):
    """A table's sync was held by the mass-deletion guard; the run must end failed."""


class MetadataSchemaError(RuntimeError):
    """The metadata tables cannot be brought to this release's schema; says why and what to do."""
