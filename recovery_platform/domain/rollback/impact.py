"""What a rollback plan says: per-table impact, risk, dependency warnings and the plan itself.

The planner (`plan.py`) builds these values and the renderer (`report.py`) reads them; both
depend on this module and not on each other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from recovery_platform.domain.checkpoints.history import Checkpoint
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.rollback.request import RollbackRequest
from recovery_platform.engine import KeyDiff, RowCounts, StorageDelta


@dataclass(frozen=True)
class RiskThresholds:
    """Share of a table's rows a rollback changes at which risk becomes Medium or High.

    Refused unless 0 < medium_share < high_share <= 1; errors name the launchpad fields
    (`risk_medium_share`, `risk_high_share` of `rollback_job`).
    """

    medium_share: float = 0.01
    high_share: float = 0.10

    def __post_init__(self) -> None:
        medium, high = "risk_medium_share", "risk_high_share"
        for name, value in ((medium, self.medium_share), (high, self.high_share)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(name, f"expected a number, got {value!r}")
        if not 0 < self.medium_share <= 1:
            raise InvalidInputError(medium, f"{self.medium_share} is not a share in (0, 1]")
        if not 0 < self.high_share <= 1:
            raise InvalidInputError(high, f"{self.high_share} is not a share in (0, 1]")
        if not self.medium_share < self.high_share:
            raise InvalidInputError(
                f"{medium}, {high}", f"{medium} ({self.medium_share}) must be below "
                f"{high} ({self.high_share})")

    def assess(self, changed: int, rows: int) -> str:
        """High, Medium or Low for `changed` of `rows` rows."""
        share = changed / rows if rows else (1.0 if changed else 0.0)
        if share >= self.high_share:
            return "High"
        return "Medium" if share >= self.medium_share else "Low"


@dataclass(frozen=True)
class TableImpact:
    """What the rollback will do to one table."""

    table: str
    current_version: int
    target_version: int
    current: RowCounts
    target: RowCounts
    diff: KeyDiff
    storage: StorageDelta
    risk: str

    @property
    def rows_changed(self) -> int:
        """Rows added, removed or changed by the restore."""
        return self.diff.added + self.diff.removed + self.diff.changed

    @property
    def measured_by(self) -> str:
        """How the row-level impact was measured, in words the plan shows."""
        if self.diff.method == "change_data_feed":
            return "the change data feed"
        return ("comparing both versions row by row (the change data feed of the range is "
                "incomplete or not exact: a vacuum removed files it needs, or the range holds "
                "a restore or an overwrite)")

    @property
    def unchanged(self) -> bool:
        """Content already equals the checkpoint: applying is a no-op."""
        return self.rows_changed == 0


@dataclass(frozen=True)
class DependencyWarning:
    """A declared relation a partial rollback would break."""

    child: str
    column: str
    parent: str
    orphans: int
    sample_keys: tuple[str, ...]

    @property
    def message(self) -> str:
        """The warning as the plan shows it."""
        return (f"{self.child}.{self.column} -> {self.parent}: {self.orphans} {self.child} rows "
                f"would reference {self.parent} rows that are absent after the rollback; "
                f"include both tables in tables_scope to keep them consistent")


@dataclass(frozen=True)
class RollbackPlan:
    """A recorded plan: refused (with reasons) or ready to apply."""

    plan_id: str
    created_at: datetime
    expires_at: datetime
    request: RollbackRequest
    checkpoint: Checkpoint
    selection: str
    tables: tuple[TableImpact, ...] = ()
    warnings: tuple[DependencyWarning, ...] = ()
    refusals: tuple[str, ...] = ()
    recommendation: str | None = None
    thresholds: RiskThresholds = field(default_factory=RiskThresholds)

    @property
    def ok(self) -> bool:
        """True when the checkpoint passed validation and the plan can be applied."""
        return not self.refusals

    @property
    def scope(self) -> tuple[str, ...]:
        """Tables in scope, in plan order."""
        return tuple(t.table for t in self.tables)

    @property
    def estimated_seconds(self) -> float:
        """A rough duration: restores are metadata operations; validation scans changed rows."""
        changed = sum(t.rows_changed for t in self.tables)
        return round(1.0 + 0.3 * len(self.tables) + changed / 2_000_000, 1)
