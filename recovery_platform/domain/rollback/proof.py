"""Proving a rollback: restored tables must equal their checkpoint exactly (zero tolerance).

A restore that reports success but whose content does not match is caught here. The counts are
recounted from the restored rows (the tracking flags of every data file; null keys from the
log's statistics where it has them) and compared with the checkpoint's. Content is compared by
data files: a restore that re-references exactly the checkpoint version's data files holds the
checkpoint's rows, every column of them, by construction (Delta data files are immutable), so
its record-state fingerprint is the pinned one. When the files differ (a table already equal to
the checkpoint after a compaction, say) nothing is taken from the pin: the fingerprint is
recomputed and both versions are read whole and compared over every column.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from recovery_platform.domain.checkpoints.history import Checkpoint, PinnedTable, format_fingerprint
from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import dependency_levels
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, ValidationStatus
from recovery_platform.domain.sync.validation import (
    Invariant,
    InvariantResult,
    TableValidation,
    validate_table,
    validation_rows,
)
from recovery_platform.engine import WHOLE_ROWS, StorageDelta

COUNT_METRICS = ("total", "active", "deleted", "purged", "null_keys")
ALL_COLUMNS_METRIC = "all_columns"
IDENTICAL = "identical to the checkpoint's version"
RELATIONS_CHECKED_AT_PINS = frozenset(
    {CheckpointType.DailyBatch, CheckpointType.Manual, CheckpointType.PostRollback}
)
"""Checkpoint types whose validation checks relations against the parent versions they pin."""


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
    relations: str = ""
    """What the referential check found, or why it was not counted again."""
    same_files: bool = False
    """The restored version references exactly the pinned version's data files."""
    validation: TableValidation | None = None
    """Every invariant at the restored version, as the bronze asset's checks show them."""

    @property
    def passed(self) -> bool:
        """Every metric matches and every invariant holds."""
        return not self.failures


def check_restored_table(
    lakehouse: Lakehouse,
    target: Checkpoint,
    table: str,
    before: PinnedTable,
    versions: Mapping[str, int] | None = None,
) -> RestoredTableCheck:
    """Compare a restored table with its pin in `target` and re-run the invariants.

    `versions` are tables' current versions where the caller has read them already (an apply
    reads every restored table's once for all its proofs); other tables are looked up.
    """
    engine = lakehouse.engine
    pin = target.pin(table)
    uri = lakehouse.bronze_uri(table)
    shape = lakehouse.config.table(table).shape
    known = dict(versions or {})
    version = known.get(table)
    if version is None:
        version = known[table] = engine.state(uri).version
    files = engine.storage_delta(uri, pin.version, version)
    same_files = _unchanged(files)
    if same_files:
        # the pinned version's data files, so its fingerprint; the counts are still recounted
        # from the restored rows' tracking flags, which also reads every data file
        counts, fingerprint = engine.row_counts(uri, shape, version), pin.fingerprint
    else:
        counts, fingerprint = engine.counts_and_fingerprint(uri, shape, version)
    metrics = [
        Metric(name, str(getattr(before.counts, name)), str(getattr(counts, name)),
               str(getattr(pin.counts, name)))
        for name in COUNT_METRICS
    ]
    metrics.append(Metric("fingerprint", format_fingerprint(before.fingerprint),
                          format_fingerprint(fingerprint), format_fingerprint(pin.fingerprint)))
    all_columns = IDENTICAL if same_files else _compare_all_columns(lakehouse, uri, pin.version,
                                                                    version, files)
    metrics.append(Metric(ALL_COLUMNS_METRIC, f"version {before.version}", all_columns,
                          IDENTICAL))
    failures = [f"{m.name}: expected {m.expected}, found {m.after}" for m in metrics
                if not m.matches]
    relations = _relations_as_validated(lakehouse, target, table, known) if same_files else None
    validation = validate_table(lakehouse, table, version=version, relations=relations)
    for result in validation.results:
        if result.invariant is Invariant.schema_as_declared:
            continue  # a rollback restores the schema the checkpoint had, by design
        if not result.passed:
            failures.append(f"{result.invariant.value}: expected {result.expected}, found "
                            f"{result.actual}")
    referential = validation.result(Invariant.referential_integrity)
    return RestoredTableCheck(table, version, tuple(metrics), tuple(failures), referential.actual,
                              same_files, validation)


def _unchanged(files: StorageDelta) -> bool:
    """Whether two versions reference exactly the same data files."""
    return files.files_added == 0 and files.files_removed == 0


def _same_files(lakehouse: Lakehouse, table: str, pinned: int, now: int | None = None) -> bool:
    """Whether the table's version `now` (latest if None) references exactly `pinned`'s files."""
    engine = lakehouse.engine
    uri = lakehouse.bronze_uri(table)
    current = engine.state(uri).version if now is None else now
    return _unchanged(engine.storage_delta(uri, pinned, current))


def _compare_all_columns(
    lakehouse: Lakehouse, uri: str, pinned: int, restored: int, files: StorageDelta
) -> str:
    """Every column of two versions with different data `files`, compared by reading both."""
    engine = lakehouse.engine
    if engine.fingerprint(uri, WHOLE_ROWS, restored) == engine.fingerprint(uri, WHOLE_ROWS, pinned):
        return IDENTICAL
    return (f"different rows ({files.files_added} data files added and {files.files_removed} "
            f"removed relative to version {pinned})")


def _relations_as_validated(
    lakehouse: Lakehouse, target: Checkpoint, table: str, versions: Mapping[str, int]
) -> InvariantResult | None:
    """The checkpoint's referential verdict, when the restored state is the one it validated.

    A Validated checkpoint of these types checked each table's relations against the parent
    versions it pins (manual checkpoints pass them explicitly, the daily sync passes those of
    earlier dependency waves, so not across a reference cycle; a PostRollback checkpoint pins
    what its proof checked). When the table and every table it
    references still hold exactly those versions' data files, counting orphans again must give
    the same answer, so it is not counted again. Anything else is counted.
    """
    if (target.checkpoint_type not in RELATIONS_CHECKED_AT_PINS
            or target.status is not ValidationStatus.Validated
            or not target.pin(table).validated):
        return None
    level: dict[str, int] = {}
    if target.checkpoint_type is CheckpointType.DailyBatch:  # its sync validated in these waves
        waves = dependency_levels(lakehouse.config, [p.table for p in target.tables])
        level = {t: i for i, wave in enumerate(waves) for t in wave}
    for relation in lakehouse.config.table(table).relations:
        parent = next((p for p in target.tables if p.table == relation.references), None)
        if parent is None or not parent.validated:
            return None
        if level and parent.table != table and level[parent.table] >= level[table]:
            return None  # a reference cycle: the sync could not validate against the pin
        if not _same_files(lakehouse, parent.table, parent.version, versions.get(parent.table)):
            return None
    return InvariantResult(
        table, Invariant.referential_integrity, True,
        expected="no orphans in error-level relations",
        actual=(f"as validated for checkpoint {target.name}: {table} and the tables it "
                "references hold exactly the data files of the versions it pins"),
        details={"inherited_from": target.checkpoint_id},
    )


def record_post_rollback(
    store: MetadataStore,
    checks: Sequence[RestoredTableCheck],
    *,
    run_id: str,
    plan_id: str,
) -> None:
    """Write DataValidation, comparison and before/after snapshot rows (one commit each)."""
    now = utc_now()
    metric_rows: list[dict[str, object]] = [
        {"ValidationId": str(uuid.uuid4()), "PipelineRunId": run_id, "TableName": c.table,
         "DeltaVersion": c.version, "Context": "PostRollback",
         "ValidationType": f"matches_checkpoint_{m.name}", "ValidationPassed": m.matches,
         "Severity": "error", "ExpectedValue": m.expected, "ActualValue": m.after,
         "ViolationCount": 0 if m.matches else 1, "SampleKeys": None, "ValidatedAt": now}
        for c in checks for m in c.metrics
    ]
    invariant_rows = validation_rows([c.validation for c in checks if c.validation is not None],
                                     run_id=run_id, context="PostRollback")
    store.append(MetadataTable.DataValidation, [*metric_rows, *invariant_rows])
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
