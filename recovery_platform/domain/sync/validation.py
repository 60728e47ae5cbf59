"""Zero-tolerance invariants of a bronze table (PRODUCT.md decision 3).

Each invariant is computed by the engine where the data is and yields a result with the violating
count and sample keys, so that a check in the UI and a `DataValidation` row say the same thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa

from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import DELETED_COLUMN, PURGED_COLUMN
from recovery_platform.domain.lakehouse.vocabulary import RelationSeverity
from recovery_platform.engine import DuplicateKeys, RowCounts

SAMPLE_SIZE = 10


class Invariant(StrEnum):
    """The invariants; their values are the Dagster asset-check names."""

    tracking_counts_consistent = "tracking_counts_consistent"
    no_null_primary_keys = "no_null_primary_keys"
    unique_primary_key = "unique_primary_key"
    schema_as_declared = "schema_as_declared"
    tracking_columns_consistent = "tracking_columns_consistent"
    referential_integrity = "referential_integrity"


@dataclass(frozen=True)
class InvariantResult:
    """The outcome of one invariant on one table version."""

    table: str
    invariant: Invariant
    passed: bool
    expected: str
    actual: str
    violations: int = 0
    sample_keys: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class TableValidation:
    """All invariants of one table at one version."""

    table: str
    version: int
    counts: RowCounts
    results: tuple[InvariantResult, ...]

    @property
    def passed(self) -> bool:
        """True only if every zero-tolerance invariant held."""
        return all(r.passed for r in self.results)

    def result(self, invariant: Invariant) -> InvariantResult:
        """The result of one invariant."""
        return next(r for r in self.results if r.invariant is invariant)

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per failed invariant, for audit rows and alerts."""
        return tuple(
            f"{r.invariant.value}: expected {r.expected}, found {r.actual}"
            for r in self.results
            if not r.passed
        )


def _counts_result(
    table: str, counts: RowCounts, both_keys: tuple[str, ...]
) -> InvariantResult:
    """The identity fails only through rows flagged both deleted and purged: they are samples."""
    buckets = counts.active + counts.deleted + counts.purged
    return InvariantResult(
        table, Invariant.tracking_counts_consistent, buckets == counts.total,
        expected=f"active + deleted + purged = total ({counts.total})",
        actual=f"{counts.active} + {counts.deleted} + {counts.purged} = {buckets}",
        violations=abs(counts.total - buckets), sample_keys=both_keys,
        details={"total": counts.total, "active": counts.active,
                 "deleted": counts.deleted, "purged": counts.purged},
    )


def _unique_keys_result(table: str, duplicates: DuplicateKeys) -> InvariantResult:
    """Every non-null key in one row; `violations` counts the extra rows (a key in 3 rows: 2).

    Null keys are `no_null_primary_keys`' concern and never count as duplicates.
    """
    return InvariantResult(
        table, Invariant.unique_primary_key, not duplicates.found,
        expected="each non-null key in exactly one row",
        actual=(f"{duplicates.repeated_keys} keys held by more than one row "
                f"({duplicates.extra_rows} extra rows)"),
        violations=duplicates.extra_rows, sample_keys=duplicates.sample_keys,
        details={"repeated_keys": duplicates.repeated_keys,
                 "extra_rows": duplicates.extra_rows},
    )


def _schema_result(table: str, actual: pa.Schema, declared: pa.Schema) -> InvariantResult:
    want = {f.name: f.type for f in declared}
    have = {f.name: f.type for f in actual}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    wrong = sorted(n for n in set(want) & set(have) if not _same_type(want[n], have[n]))
    problems = [f"missing {m}" for m in missing] + [f"undeclared {e}" for e in extra] + [
        f"{n} is {have[n]} not {want[n]}" for n in wrong
    ]
    return InvariantResult(
        table, Invariant.schema_as_declared, not problems,
        expected=f"{len(want)} declared columns", actual="; ".join(problems) or "as declared",
        violations=len(problems),
    )


def _same_type(declared: pa.DataType, actual: pa.DataType) -> bool:
    if declared == actual:
        return True
    text = {pa.string(), pa.large_string(), pa.string_view()}
    if declared in text and actual in text:
        return True
    return bool(
        pa.types.is_timestamp(declared) and pa.types.is_timestamp(actual)
        and declared.tz is not None and actual.tz is not None
    )


def validate_table(
    lakehouse: Lakehouse,
    table: str,
    *,
    version: int | None = None,
    parent_versions: Mapping[str, int] | None = None,
    relations: InvariantResult | None = None,
) -> TableValidation:
    """Evaluate every invariant of `table` at one version (latest if None).

    Referenced tables are read at `parent_versions` where given (a checkpoint validates a table
    against the versions it pins of its parents), else at their latest. `relations` is a
    referential result already established for exactly this state (see `rollback_validation`),
    used instead of counting orphans again.
    """
    spec = lakehouse.config.table(table)
    engine = lakehouse.engine
    uri = lakehouse.bronze_uri(table)
    at = engine.state(uri).version if version is None else version
    counts = engine.row_counts(uri, spec.shape, at)
    both_keys: tuple[str, ...] = ()
    if counts.both_flags:  # the counts already say whether there is anything to sample
        both = engine.read(
            uri, columns=[spec.primary_key], equals={DELETED_COLUMN: True, PURGED_COLUMN: True},
            version=at,
        )
        both_keys = tuple(sorted(str(k) for k in both.column(0).to_pylist())[:SAMPLE_SIZE])
    results = [
        _counts_result(table, counts, both_keys),
        InvariantResult(
            table, Invariant.no_null_primary_keys, counts.null_keys == 0,
            expected="0 null keys", actual=f"{counts.null_keys} null keys",
            violations=counts.null_keys,
        ),
        _unique_keys_result(
            table, engine.duplicate_keys(uri, spec.shape, at, sample_size=SAMPLE_SIZE)
        ),
        _schema_result(table, engine.schema(uri, at), spec.bronze_schema()),
        InvariantResult(
            table, Invariant.tracking_columns_consistent, counts.both_flags == 0,
            expected="no row both deleted and purged",
            actual=f"{counts.both_flags} rows both deleted and purged",
            violations=counts.both_flags, sample_keys=both_keys,
        ),
        relations or referential_integrity(lakehouse, table, version=at,
                                           parent_versions=dict(parent_versions or {})),
    ]
    return TableValidation(table=table, version=at, counts=counts, results=tuple(results))


def referential_integrity(
    lakehouse: Lakehouse,
    table: str,
    *,
    version: int | None = None,
    parent_versions: dict[str, int] | None = None,
) -> InvariantResult:
    """Orphans of every declared relation; `error` relations fail, `warn` ones are reported."""
    spec = lakehouse.config.table(table)
    engine = lakehouse.engine
    failures: list[str] = []
    warnings: list[str] = []
    samples: list[str] = []
    orphans = 0
    details: dict[str, object] = {}
    for rel in spec.relations:
        found_keys: tuple[str, ...]
        parent_uri = lakehouse.bronze_uri(rel.references)
        if not engine.table_exists(parent_uri):
            found_count, found_keys = -1, ()
        else:
            found = engine.orphan_count(
                lakehouse.bronze_uri(table), rel.column, parent_uri,
                lakehouse.config.table(rel.references).primary_key,
                child_version=version,
                parent_version=(parent_versions or {}).get(rel.references),
                sample_size=SAMPLE_SIZE,
            )
            found_count, found_keys = found.count, found.sample_keys
        label = f"{rel.column} -> {rel.references}"
        details[label] = found_count
        if found_count == 0:
            continue
        text = (f"{label}: parent table missing" if found_count < 0
                else f"{label}: {found_count} orphans")
        if rel.on_violation is RelationSeverity.error:
            failures.append(text)
            orphans += max(found_count, 0)
            samples.extend(found_keys)
        else:
            warnings.append(text)
    return InvariantResult(
        table, Invariant.referential_integrity, not failures,
        expected="no orphans in error-level relations",
        actual="; ".join(failures) or "no orphans",
        violations=orphans, sample_keys=tuple(samples[:SAMPLE_SIZE]),
        warnings=tuple(warnings), details=details,
    )


def record_validations(
    store: MetadataStore,
    validations: Sequence[TableValidation],
    *,
    run_id: str,
    context: str,
) -> None:
    """Write every invariant result to `DataValidation`, in one commit."""
    store.append(MetadataTable.DataValidation,
                 validation_rows(validations, run_id=run_id, context=context))


def validation_rows(
    validations: Sequence[TableValidation], *, run_id: str, context: str
) -> list[dict[str, object]]:
    """`DataValidation` rows, one per invariant per table, for callers that batch their commit."""
    now = utc_now()
    return [
        {
            "ValidationId": str(uuid.uuid4()),
            "PipelineRunId": run_id,
            "TableName": v.table,
            "DeltaVersion": v.version,
            "Context": context,
            "ValidationType": r.invariant.value,
            "ValidationPassed": r.passed,
            "Severity": "error",
            "ExpectedValue": r.expected,
            "ActualValue": r.actual,
            "ViolationCount": r.violations,
            "SampleKeys": ",".join(r.sample_keys) or None,
            "ValidatedAt": now,
        }
        for v in validations
        for r in v.results
    ]


def proven_unique(store: MetadataStore, tables: Collection[str]) -> set[tuple[str, int]]:
    """(table, version) pairs a recorded validation found holding each key in one row.

    Versions never change, so a passed `unique_primary_key` row stays true for its version; a
    caller must still make sure the version belongs to the same table (its table id).
    """
    rows = store.read(MetadataTable.DataValidation,
                      equals={"ValidationType": Invariant.unique_primary_key.value,
                              "ValidationPassed": True},
                      columns=["TableName", "DeltaVersion"]).to_pylist()
    return {(r["TableName"], r["DeltaVersion"]) for r in rows
            if r["TableName"] in tables and r["DeltaVersion"] is not None}
