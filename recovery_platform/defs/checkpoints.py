"""The DailyBatch checkpoint asset: every bronze table pinned at one point after a sync run.

It is computed by the daily sync's multi-asset (so it is recorded even when a table is held or
fails a blocking check); this module says what it is and what it shows in the UI.
"""

import dagster as dg

from recovery_platform.defs.keys import BATCH_KEY, bronze_key
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.domain.sync.daily import BatchOutcome


def batch_checkpoint_spec(platform: PlatformConfig) -> dg.AssetSpec:
    """The batch checkpoint depends on every bronze table of the run."""
    return dg.AssetSpec(
        BATCH_KEY, deps=[bronze_key(t) for t in platform.table_names], group_name="checkpoints",
        skippable=True, description="DailyBatch checkpoint: every table pinned at one point.",
    )


def batch_result(outcome: BatchOutcome) -> dg.MaterializeResult:
    """What the batch checkpoint pinned, with the reasons it is not Validated, if any."""
    checkpoint = outcome.checkpoint
    return dg.MaterializeResult(
        asset_key=BATCH_KEY,
        metadata={
            "checkpoint_id": checkpoint.checkpoint_id,
            "checkpoint_name": checkpoint.name,
            "validation_status": checkpoint.status.value,
            "tables_included": len(checkpoint.tables),
            "total_rows": sum(p.counts.total for p in checkpoint.tables),
            "reasons": "; ".join(outcome.reasons) or "none",
        },
    )
