"""What a maintenance run did, as numbers the Dagster UI plots and a Markdown table people read.

Built only from the outcomes the run collected; nothing here reads the lakehouse. `as_metadata`
returns plain numbers and strings (the Dagster layer wraps them), the same every week, so the
asset's plots of files removed, bytes reclaimed and sizes line up over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from recovery_platform.domain.lakehouse.vocabulary import AuditStatus
from recovery_platform.domain.maintenance.optimize import OptimizeOutcome
from recovery_platform.domain.maintenance.vacuum import VacuumOutcome


@dataclass(frozen=True)
class TableMaintenance:
    """One table's maintenance: what ran, with what result, and its size around it.

    `status` is Succeeded, Failed, Warning (a vacuum skipped to keep a checkpoint) or
    Skipped (the table was not touched: its lease was held, it does not exist, or its
    configuration disables every requested operation); `reason` says why for all but the first.
    """

    table: str
    status: AuditStatus
    reason: str | None = None
    vacuum: VacuumOutcome | None = None
    optimize: OptimizeOutcome | None = None
    checkpoint_id: str | None = None
    """The PreMaintenance checkpoint taken before the first write, if any."""
    size_before: int | None = None
    size_after: int | None = None

    @property
    def files_removed(self) -> int:
        """Files the vacuum deleted (dry run: would delete)."""
        return len(self.vacuum.files) if self.vacuum else 0

    @property
    def bytes_reclaimed(self) -> int:
        """Bytes of those files (0 when unknown: not a local lakehouse)."""
        return (self.vacuum.bytes or 0) if self.vacuum else 0

    @property
    def unreachable_versions(self) -> tuple[int, ...]:
        """Versions the vacuum made (dry run: would make) unrestorable."""
        return self.vacuum.unreachable_versions if self.vacuum else ()


@dataclass(frozen=True)
class MaintenanceSummary:
    """Every table's outcome and the run's totals."""

    run_id: str
    dry_run: bool
    operations: tuple[str, ...]
    started: datetime
    duration_seconds: float
    tables: tuple[TableMaintenance, ...] = ()
    checkpoints_deactivated: tuple[str, ...] = ()
    deactivation_failures: tuple[str, ...] = ()
    retention_below: tuple[str, ...] = ()
    """Tables whose retention properties are below what their active checkpoints need."""

    @property
    def processed(self) -> tuple[TableMaintenance, ...]:
        """Tables maintenance worked on (not skipped)."""
        return tuple(t for t in self.tables if t.status is not AuditStatus.Skipped)

    @property
    def successes(self) -> tuple[str, ...]:
        """Tables whose every requested operation succeeded."""
        return tuple(t.table for t in self.tables if t.status is AuditStatus.Succeeded)

    @property
    def failures(self) -> dict[str, str]:
        """Failed tables with the reason; skipped vacuums (Warning) are not failures."""
        return {t.table: t.reason or "failed" for t in self.tables
                if t.status is AuditStatus.Failed}

    @property
    def skipped(self) -> dict[str, str]:
        """Tables not touched, with the reason (a lease held by a sync, for instance)."""
        return {t.table: t.reason or "skipped" for t in self.tables
                if t.status is AuditStatus.Skipped}

    @property
    def warnings(self) -> dict[str, str]:
        """Tables maintained except for a vacuum skipped to keep a checkpoint's files."""
        return {t.table: t.reason or "warning" for t in self.tables
                if t.status is AuditStatus.Warning}

    @property
    def files_removed(self) -> int:
        """Files vacuums deleted (dry run: would delete), metadata tables included."""
        return sum(t.files_removed for t in self.tables)

    @property
    def bytes_reclaimed(self) -> int:
        """Bytes of those files."""
        return sum(t.bytes_reclaimed for t in self.tables)

    @property
    def size_before(self) -> int:
        """Bytes in the maintained tables' folders before the run (0 where unknown)."""
        return sum(t.size_before or 0 for t in self.processed)

    @property
    def size_after(self) -> int:
        """Bytes in the same folders after the run."""
        return sum(t.size_after or 0 for t in self.processed)

    @property
    def unreachable_versions(self) -> dict[str, tuple[int, ...]]:
        """Per table, versions that became (dry run: would become) unrestorable."""
        return {t.table: t.unreachable_versions for t in self.tables if t.unreachable_versions}

    def as_metadata(self) -> dict[str, bool | int | float | str]:
        """Plain numbers and strings for the `reports/maintenance` asset's metadata."""
        return {
            "dry_run": self.dry_run,
            "operations": ", ".join(self.operations),
            "tables_processed": len(self.processed),
            "tables_succeeded": len(self.successes),
            "tables_failed": len(self.failures),
            "tables_skipped": len(self.skipped),
            "vacuums_skipped": len(self.warnings),
            "files_removed": self.files_removed,
            "bytes_reclaimed": self.bytes_reclaimed,
            "size_before_bytes": self.size_before,
            "size_after_bytes": self.size_after,
            "duration_seconds": round(self.duration_seconds, 3),
            "checkpoints_deactivated": len(self.checkpoints_deactivated),
            "deactivation_failures": len(self.deactivation_failures),
            "versions_unreachable": sum(len(v) for v in self.unreachable_versions.values()),
            "retention_below": ", ".join(self.retention_below) or "-",
            "failures": "; ".join(f"{t}: {r}" for t, r in self.failures.items()) or "-",
            "skipped": "; ".join(f"{t}: {r}" for t, r in self.skipped.items()) or "-",
        }

    def markdown(self) -> str:
        """The run as a Markdown table, one row per table, and its totals."""
        mode = "dry run: nothing was changed" if self.dry_run else "changes applied"
        lines = [
            f"## Maintenance `{self.run_id}` ({mode})",
            "",
            f"Operations: {', '.join(self.operations)}; started {self.started:%Y-%m-%d %H:%M:%S}"
            f" UTC, {self.duration_seconds:.1f} s.",
            "",
            "| table | status | files removed | bytes reclaimed | size before | size after "
            "| retention h (configured / used) | optimize | unreachable versions | note |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *(_row(t) for t in self.tables),
            "",
            f"**{len(self.processed)} tables processed, {len(self.successes)} succeeded, "
            f"{len(self.failures)} failed, {len(self.skipped)} skipped; {self.files_removed} "
            f"files ({_bytes(self.bytes_reclaimed)}) "
            f"{'would be ' if self.dry_run else ''}removed; {_bytes(self.size_before)} → "
            f"{_bytes(self.size_after)}; {len(self.checkpoints_deactivated)} checkpoints "
            f"{'would be ' if self.dry_run else ''}deactivated.**",
        ]
        if self.retention_below:
            lines += ["", "Retention below what active checkpoints need: "
                      + ", ".join(self.retention_below)]
        if self.deactivation_failures:
            lines += ["", "Failed deactivations:", *(f"- {f}" for f in self.deactivation_failures)]
        return "\n".join(lines)


def _bytes(value: int | None) -> str:
    if value is None:
        return "?"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{value} B"


def _row(t: TableMaintenance) -> str:
    vacuum, optimize = t.vacuum, t.optimize
    hours = "-"
    if vacuum is not None:
        hours = (f"{vacuum.configured_hours} / {vacuum.effective_hours}"
                 if vacuum.retention_differs else str(vacuum.configured_hours))
    rewrite = "-"
    if optimize is not None:
        rewrite = (optimize.status.value if optimize.proof is None
                   else f"{optimize.files_removed} → {optimize.files_added} files")
    unreachable = ", ".join(map(str, t.unreachable_versions)) or "-"
    note = (t.reason or "-").replace("|", "/")
    return (f"| {t.table} | {t.status.value} | {t.files_removed} | {_bytes(t.bytes_reclaimed)} "
            f"| {_bytes(t.size_before)} | {_bytes(t.size_after)} | {hours} | {rewrite} "
            f"| {unreachable} | {note} |")
