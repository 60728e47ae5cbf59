"""The purge metadata job: record a source purge from the launchpad (seed section 3)."""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from recovery_platform.defs.keys import WRITERS_POOL
from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.purge.record import record_purge, validate_purge_request


class PurgeMetadataConfig(dg.Config):
    """Launchpad fields of the purge pipeline."""

    tables: list[str] = Field(description="Tables the source purge affects.")
    purge_date: str = Field(description="Date the purge runs in the source (YYYY-MM-DD).")
    cutoff_date: str = Field(
        default="", description="Only records whose cutoff column is before this date (optional)."
    )
    reason: str = Field(default="", description="Why the purge happens.")
    requested_by: str = Field(description="Who records the purge (audited).")


@dg.op(pool=WRITERS_POOL)
def record_purge_metadata(
    context: dg.OpExecutionContext, config: PurgeMetadataConfig, lakehouse: LakehouseResource
) -> dg.Output[str]:
    """Validate, take the PrePurge checkpoint and record the pending purge."""
    house = lakehouse.lakehouse()
    store = lakehouse.metadata(house)
    request = validate_purge_request(
        house, store, tables=config.tables, purge_date=config.purge_date,
        cutoff_date=config.cutoff_date or None, reason=config.reason,
        requested_by=config.requested_by, today=datetime.now(UTC).date(),
    )
    audit = AuditTrail(store, context.run.run_id,
                       Actor(requested_by=request.requested_by, reason=request.reason))
    try:
        checkpoint = record_purge(house, store, audit, request)
    finally:
        audit.flush()
    return dg.Output(checkpoint.checkpoint_id, metadata={
        "pre_purge_checkpoint_id": checkpoint.checkpoint_id,
        "tables": dg.MetadataValue.json(list(request.tables)),
        "purge_date": str(request.purge_date),
    })


@dg.job(description="Record a source purge: PrePurge checkpoint, then the pending purge.")
def purge_metadata_job() -> None:
    """The seed's purge metadata pipeline."""
    record_purge_metadata()
