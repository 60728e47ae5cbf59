"""The blocking checks of every bronze table as the Dagster UI shows them: one per invariant.

The sync, a checks-only run and a rollback's proof all report the same check names with the same
metadata, so a table's checks page tells one story whoever evaluated them last.
"""

from collections.abc import Collection
from typing import Any

import dagster as dg

from recovery_platform.defs.keys import bronze_key
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.domain.sync.validation import Invariant, InvariantResult, TableValidation

CHECKPOINT_CHECK = "checkpoint_created"
"""Non-blocking: a failed Daily checkpoint is a warning, it does not fail the sync (seed CR-001)."""


def check_specs(platform: PlatformConfig) -> list[dg.AssetCheckSpec]:
    """Every invariant of every table (blocking), and whether its Daily checkpoint was taken."""
    specs = [
        dg.AssetCheckSpec(inv.value, asset=bronze_key(t), blocking=True,
                          description=f"Zero tolerance: {inv.value.replace('_', ' ')}.")
        for t in platform.table_names
        for inv in Invariant
    ]
    specs += [
        dg.AssetCheckSpec(CHECKPOINT_CHECK, asset=bronze_key(t),
                          description="The sync's Daily checkpoint was recorded (warning only).")
        for t in platform.table_names
    ]
    return specs


def check_metadata(result: InvariantResult) -> dict[str, Any]:
    """What a check shows: violations, expected and actual values, sample keys, warnings."""
    return {"violations": result.violations, "expected": result.expected, "actual": result.actual,
            "sample_keys": ", ".join(result.sample_keys), "warnings": "; ".join(result.warnings)}


def check_results(
    validation: TableValidation, *, only: Collection[str] | None = None
) -> list[dg.AssetCheckResult]:
    """One result per invariant (those named in `only`, when given), with the version checked."""
    return [
        dg.AssetCheckResult(
            asset_key=bronze_key(validation.table), check_name=r.invariant.value,
            passed=r.passed, severity=dg.AssetCheckSeverity.ERROR,
            metadata={**check_metadata(r), "version": validation.version},
        )
        for r in validation.results
        if only is None or r.invariant.value in only
    ]


def check_evaluations(
    validation: TableValidation, *, context: str, warn_only: Collection[str] = ()
) -> list[dg.AssetCheckEvaluation]:
    """The same checks as evaluations an op reports beside its materializations.

    `warn_only` names checks whose failure is expected in this context and shown as a warning
    (a rollback restores the schema its checkpoint had, so `schema_as_declared` may differ).
    """
    return [
        dg.AssetCheckEvaluation(
            asset_key=bronze_key(validation.table), check_name=r.invariant.value,
            passed=r.passed,
            severity=(dg.AssetCheckSeverity.WARN if r.invariant.value in warn_only
                      else dg.AssetCheckSeverity.ERROR),
            metadata={**check_metadata(r), "version": validation.version, "context": context},
        )
        for r in validation.results
    ]


def checkpoint_result(table: str, *, passed: bool, **metadata: Any) -> dg.AssetCheckResult:
    """The non-blocking `checkpoint_created` check of one table, as a warning when failed."""
    return dg.AssetCheckResult(asset_key=bronze_key(table), check_name=CHECKPOINT_CHECK,
                               passed=passed, severity=dg.AssetCheckSeverity.WARN,
                               metadata=metadata)
