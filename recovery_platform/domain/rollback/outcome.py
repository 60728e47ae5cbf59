"""How an apply ended: per table restored or not, proven or not, and the checkpoints framing it.

Apply produces these values; the run, the post-rollback checkpoint and the Dagster layer read
them.
"""

from __future__ import annotations

from dataclasses import dataclass

from recovery_platform.domain.checkpoints.history import Checkpoint
from recovery_platform.domain.rollback.proof import RestoredTableCheck


@dataclass(frozen=True)
class TableRestoreOutcome:
    """How one table's restore ended."""

    table: str
    status: str
    version_before: int
    version_after: int | None
    error: str | None = None
    check: RestoredTableCheck | None = None


@dataclass(frozen=True)
class ApplyResult:
    """The result of applying a plan."""

    plan_id: str
    outcomes: tuple[TableRestoreOutcome, ...]
    pre_rollback: Checkpoint
    post_rollback: Checkpoint | None

    @property
    def succeeded(self) -> bool:
        """Every table restored (or already equal) and proven."""
        return all(o.check is not None and o.check.passed for o in self.outcomes)

    @property
    def failed_tables(self) -> tuple[str, ...]:
        """Tables that failed to restore or to validate."""
        return tuple(o.table for o in self.outcomes
                     if o.check is None or not o.check.passed)
