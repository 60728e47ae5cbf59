"""What a maintenance run is asked to do, checked before anything is read or written.

The launchpad (and the weekly schedule) hand over table names and operation names as strings;
both are checked against fixed allowlists here, so a typo is refused with the allowed values
instead of silently maintaining nothing (or everything).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.table_config import PlatformConfig

VACUUM = "vacuum"
OPTIMIZE = "optimize"
RETENTION = "retention"
METADATA = "metadata"
OPERATIONS: tuple[str, ...] = (VACUUM, OPTIMIZE, RETENTION, METADATA)
"""Every operation a maintenance run knows, in the order a run performs them."""


@dataclass(frozen=True)
class MaintenanceRequest:
    """One maintenance run's inputs.

    `tables` empty means every declared table that has vacuum or optimize enabled;
    `operations` defaults to all of them. `dry_run` defaults to True: a run launched by hand
    only reports unless someone says otherwise (the schedule passes False).
    """

    tables: tuple[str, ...] = ()
    operations: frozenset[str] = field(default_factory=lambda: frozenset(OPERATIONS))
    dry_run: bool = True
    reason: str | None = None
    requested_by: str | None = None

    def __post_init__(self) -> None:
        """Refuse unknown operations and wrongly typed fields before any table is touched."""
        if isinstance(self.tables, str) or not isinstance(self.tables, tuple):
            raise InvalidInputError("tables", "expected a tuple of table names")
        if isinstance(self.operations, str) or not isinstance(self.operations, frozenset):
            raise InvalidInputError("operations", "expected a set of operation names", OPERATIONS)
        unknown = sorted(str(o) for o in self.operations if o not in OPERATIONS)
        if unknown:
            raise InvalidInputError(
                "operations", f"unknown operation(s) {', '.join(map(repr, unknown))}", OPERATIONS
            )
        if not self.operations:
            raise InvalidInputError("operations", "no operation selected", OPERATIONS)
        if not isinstance(self.dry_run, bool):
            raise InvalidInputError("dry_run", f"expected true or false, got {self.dry_run!r}")
        for name in ("reason", "requested_by"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(name, f"expected text, got {value!r}")

    @classmethod
    def of(
        cls,
        config: PlatformConfig,
        *,
        tables: Iterable[str] | None = None,
        operations: Iterable[str] | None = None,
        dry_run: bool = True,
        reason: str | None = None,
        requested_by: str | None = None,
    ) -> MaintenanceRequest:
        """A request from launchpad-like values, checked against the table allowlist."""
        request = cls(
            tables=tuple(tables or ()),
            operations=frozenset(OPERATIONS if operations is None else operations),
            dry_run=dry_run,
            reason=reason,
            requested_by=requested_by,
        )
        request.validate(config)
        return request

    def validate(self, config: PlatformConfig) -> None:
        """Refuse a table outside the allowlist (or listed twice), naming the allowed tables."""
        config.validate_table_names(self.tables, field_name="tables")

    def selected_tables(self, config: PlatformConfig) -> tuple[str, ...]:
        """The tables this run maintains, in declaration order when none were named.

        A named table is kept even when its configuration disables every operation: the
        summary then says so, rather than silently ignoring what was asked for.
        """
        if self.tables:
            return config.validate_table_names(self.tables, field_name="tables")
        return tuple(
            name for name, spec in config.tables.items()
            if spec.enable_vacuum or spec.enable_optimize
        )

    def wants(self, operation: str) -> bool:
        """Whether `operation` was asked for."""
        return operation in self.operations
