"""Names the Dagster UI shows, defined once: asset keys and the bronze writers' pool."""

import dagster as dg

BATCH_KEY = dg.AssetKey(["checkpoints", "daily_batch"])
MAINTENANCE_REPORT_KEY = dg.AssetKey(["reports", "maintenance"])
INTEGRITY_REPORT_KEY = dg.AssetKey(["reports", "checkpoint_integrity"])
WRITERS_POOL = "bronze_writers"
"""Every op that writes bronze tables runs in this pool, so writers are visible in the UI."""


def bronze_key(table: str) -> dg.AssetKey:
    """Asset key of a bronze table."""
    return dg.AssetKey(["bronze", table])


def source_key(table: str) -> dg.AssetKey:
    """Asset key of a table's source extracts (external: landed by the CRM export)."""
    return dg.AssetKey(["source", table])
