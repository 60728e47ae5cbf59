"""Proving a rollback: restored tables must equal their checkpoint exactly (zero tolerance).

A restore that reports success but whose content does not match is caught here. Three things are
compared with the checkpoint: the counts and the record-state fingerprint (read back from the
restored version's key and tracking columns), and every other column. For the last, a restore
that re-references exactly the checkpoint version's data files is identical by construction
(Delta data files are immutable), which the log shows without reading data; when the files
differ (a table already equal to the checkpoint after a compaction, say) both versions are read
whole and compared by a fingerprint over every column.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from recovery_platform.domain.audit import utc_now
from recovery_platform.domain.checkpoints import PinnedTable, format_fingerprint
from recovery_platform.domain.lakehouse import Lakehouse
from recovery_platform.domain.metadata_schema import MetadataTable
from recovery_platform.domain.metadata_store import MetadataStore
from recovery_platform.domain.validation import Invariant, validate_table
from recovery_platform.engine import WHOLE_ROWS

COUNT_METRICS = ("total", "active", "deleted", "purged", "null_keys")
ALL_COLUMNS_METRIC = "all_columns"
IDENTICAL = "identical to the checkpoint's version"


@dataclass(frozen=True)
class Metric:
    """One compared metric of one table."""

    name: str
    before: str
    after: str
    expected: str

    @property
    def matches(self) -> bool:
        """After equals what the checkpoint pinned."""
        return self.after == self.expected


@dataclass(frozen=True)
class RestoredTableCheck:
    """Post-rollback proof for one table."""

    table: str
    version: int
    metrics: tuple[Metric, ...]
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Every metric matches and every invariant holds."""
        return not self.failures


def check_restored_table(
    lakehouse: Lakehouse, pin: PinnedTable, before: PinnedTable
) -> RestoredTableCheck:
    """Compare a restored table with its pin and re-run the invariants."""
    engine = lakehouse.engine
    uri = lakehouse.bronze_uri(pin.table)
    version = engine.state(uri).version
    counts, fingerprint = engine.counts_and_fingerprint(
        uri, lakehouse.config.table(pin.table).shape, version
    )
    metrics = [
        Metric(name, str(getattr(before.counts, name)), str(getattr(counts, name)),
               str(getattr(pin.counts, name)))
        for name in COUNT_METRICS
    ]
    metrics.append(Metric("fingerprint", format_fingerprint(before.fingerprint),
                          format_fingerprint(fingerprint), format_fingerprint(pin.fingerprint)))
    metrics.append(Metric(ALL_COLUMNS_METRIC, f"version {before.version}",
                          _all_columns(lakehouse, uri, pin.version, version), IDENTICAL))
    failures = [f"{m.name}: expected {m.expected}, found {m.after}" for m in metrics
                if not m.matches]
    validation = validate_table(lakehouse, pin.table, version=version)
    for result in validation.results:
        if result.invariant is Invariant.schema_as_declared:
            continue  # a rollback restores the schema the checkpoint had, by design
        if not result.passed:
            failures.append(f"{result.invariant.value}: expected {result.expected}, found "
                            f"{result.actual}")
    return RestoredTableCheck(pin.table, version, tuple(metrics), tuple(failures))


def _all_columns(lakehouse: Lakehouse, uri: str, pinned: int, restored: int) -> str:
    """Whether every column of the restored version equals the pinned version's.

    Same data files: identical, from the log alone. Other files: compared by reading both.
    """
    engine = lakehouse.engine
    files = engine.storage_delta(uri, pinned, restored)
    if files.files_added == 0 and files.files_removed == 0:
        return IDENTICAL
    if engine.fingerprint(uri, WHOLE_ROWS, restored) == engine.fingerprint(uri, WHOLE_ROWS, pinned):
        return IDENTICAL
    return (f"different rows ({files.files_added} data files added and {files.files_removed} "
            f"removed relative to version {pinned})")


def record_post_rollback(
    store: MetadataStore,
    checks: Sequence[RestoredTableCheck],
    *,
    run_id: str,
    plan_id: str,
) -> None:
    """Write DataValidation, comparison and before/after snapshot rows (one commit each)."""
    now = utc_now()
    store.append(MetadataTable.DataValidation, [
        {"ValidationId": str(uuid.uuid4()), "PipelineRunId": run_id, "TableName": c.table,
         "DeltaVersion": c.version, "Context": "PostRollback",
         "ValidationType": f"matches_checkpoint_{m.name}", "ValidationPassed": m.matches,
         "Severity": "error", "ExpectedValue": m.expected, "ActualValue": m.after,
         "ViolationCount": 0 if m.matches else 1, "SampleKeys": None, "ValidatedAt": now}
        for c in checks for m in c.metrics
    ])
    store.append(MetadataTable.RollbackComparisonReports, [
        {"ReportId": str(uuid.uuid4()), "PlanId": plan_id, "PipelineRunId": run_id,
         "TableName": c.table, "MetricName": m.name, "BeforeValue": m.before,
         "AfterValue": m.after, "ExpectedValue": m.expected, "Matches": m.matches,
         "CreatedAt": now}
        for c in checks for m in c.metrics
    ])


def snapshot_rows(
    pins: Sequence[PinnedTable], *, phase: str, run_id: str, plan_id: str
) -> list[dict[str, object]]:
    """`RollbackStateSnapshots` rows for tables as pinned at one phase."""
    now = utc_now()
    return [
        {"SnapshotId": str(uuid.uuid4()), "PlanId": plan_id, "PipelineRunId": run_id,
         "TableName": p.table, "Phase": phase, "DeltaVersion": p.version,
         "TotalRows": p.counts.total, "ActiveRows": p.counts.active,
         "DeletedRows": p.counts.deleted, "PurgedRows": p.counts.purged,
         "Fingerprint": format_fingerprint(p.fingerprint), "CapturedAt": now}
        for p in pins
    ]
