"""The tables a maintenance run works on, bronze or metadata, described the same way.

Vacuum and optimize do the same thing to a bronze table and to a metadata table; only the
retention floor, the Z-order columns, the shape the proof counts with and whether checkpoints
pin it differ. One value carries those, so the safety rules are written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.engine import TableShape


@dataclass(frozen=True)
class MaintenanceTarget:
    """One table to vacuum and optimize.

    `name` is what audit rows and the summary call it: the bronze table's name, or
    `metadata.<Table>` for a metadata table (never a declared table name).
    """

    name: str
    uri: str
    shape: TableShape
    retention_hours: int
    zorder_columns: tuple[str, ...]
    vacuum: bool
    optimize: bool
    bronze: bool


def bronze_target(lakehouse: Lakehouse, table: str) -> MaintenanceTarget:
    """A declared bronze table with the maintenance settings of its configuration."""
    spec = lakehouse.config.table(table)
    return MaintenanceTarget(
        name=table,
        uri=lakehouse.bronze_uri(table),
        shape=spec.shape,
        retention_hours=spec.vacuum_retention_hours,
        zorder_columns=spec.optimize_zorder_columns,
        vacuum=spec.enable_vacuum,
        optimize=spec.enable_optimize,
        bronze=True,
    )
