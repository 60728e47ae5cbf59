"""Running the domain's daily sync directly, as the Dagster asset does, for domain tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.sync.daily import (
    BatchOutcome,
    DailySyncRun,
    TableOutcome,
    run_daily_sync,
)
from recovery_platform.domain.sync.table import SyncOverride
from recovery_platform.sources import LocalSnapshotSource


@dataclass(frozen=True)
class SyncRunResult:
    """Every table outcome of one run, and its batch outcome."""

    run_id: str
    tables: dict[str, TableOutcome]
    batch: BatchOutcome


def sync_run(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    day: date,
    *,
    tables: Sequence[str] | None = None,
    overrides: Sequence[SyncOverride] = (),
    run_id: str | None = None,
) -> SyncRunResult:
    """One daily sync run over `tables` (all declared tables by default)."""
    run = DailySyncRun(
        lakehouse=lakehouse,
        store=store,
        source=LocalSnapshotSource(landing, allowed_tables=lakehouse.config.table_names),
        leases=leases,
        sync_date=day,
        run_id=run_id or str(uuid.uuid4()),
        tables=tables,
        overrides=overrides,
    )
    audit = AuditTrail(store, run.run_id, Actor(requested_by="pytest"))
    outcomes: dict[str, TableOutcome] = {}
    batch: BatchOutcome | None = None
    for outcome in run_daily_sync(run, audit):
        if isinstance(outcome, TableOutcome):
            outcomes[outcome.table] = outcome
        else:
            batch = outcome
    assert batch is not None
    return SyncRunResult(run.run_id, outcomes, batch)
