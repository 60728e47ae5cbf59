"""The manual checkpoint job: an admin pins chosen tables before a risky change."""

import dagster as dg
from pydantic import Field

from recovery_platform.defs.keys import WRITERS_POOL
from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.checkpoints.manual import create_manual_checkpoint
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail


class ManualCheckpointConfig(dg.Config):
    """Launchpad fields of a Manual checkpoint."""

    checkpoint_name: str = Field(description="Name, e.g. before_crm_upgrade_2026-11.")
    tables: list[str] = Field(default_factory=list, description="Tables to pin; empty: all.")
    reason: str = Field(default="", description="Why this restore point is needed.")
    requested_by: str = Field(description="Who takes the checkpoint (audited).")
    long_term: bool = Field(default=False, description="Keep with long-term retention.")


@dg.op(pool=WRITERS_POOL)
def manual_checkpoint(
    context: dg.OpExecutionContext, config: ManualCheckpointConfig, lakehouse: LakehouseResource
) -> dg.Output[str]:
    """Pin the chosen tables as a Manual checkpoint."""
    house = lakehouse.lakehouse()
    store = lakehouse.metadata(house)
    audit = AuditTrail(store, context.run.run_id,
                       Actor(requested_by=config.requested_by, reason=config.reason))
    try:
        checkpoint = create_manual_checkpoint(
            house, store, audit, name=config.checkpoint_name, tables=config.tables,
            reason=config.reason, requested_by=config.requested_by, long_term=config.long_term,
        )
    finally:
        audit.flush()
    return dg.Output(checkpoint.checkpoint_id, metadata={
        "checkpoint_id": checkpoint.checkpoint_id, "status": checkpoint.status.value,
        "tables": dg.MetadataValue.json({p.table: p.version for p in checkpoint.tables}),
        "retention_date": str(checkpoint.retention_date),
    })


@dg.job(description="Create a Manual checkpoint from the launchpad.")
def manual_checkpoint_job() -> None:
    """Pin tables before a risky change."""
    manual_checkpoint()
