"""The one assembly point: every asset, check, job, schedule and resource of the platform.

Loading reads `tables.yaml` and nothing else: never the lakehouse, never the network.
"""

from __future__ import annotations

import dagster as dg

from recovery_platform.defs.keys import BATCH_KEY
from recovery_platform.defs.manual_checkpoint import manual_checkpoint_job
from recovery_platform.defs.purge import purge_metadata_job
from recovery_platform.defs.resources import (
    LakehouseResource,
    SourceResource,
    run_executor,
    spark_resource_from_env,
)
from recovery_platform.defs.rollback import rollback_job
from recovery_platform.defs.sync import (
    build_bronze_assets,
    daily_sync_schedule,
    source_specs,
)
from recovery_platform.domain.lakehouse.table_config import load_platform_config


def build_definitions(config_path: str | None = None) -> dg.Definitions:
    """Assemble the platform from the table configuration (see `load_platform_config`)."""
    platform = load_platform_config(config_path)
    bronze = build_bronze_assets(platform)
    daily_sync_job = dg.define_asset_job(
        "daily_sync_job",
        selection=dg.AssetSelection.assets(bronze),
        description="Sync every bronze table, validate, checkpoint each, then the batch.",
    )
    return dg.Definitions(
        assets=[*source_specs(platform), bronze],
        jobs=[daily_sync_job, manual_checkpoint_job, purge_metadata_job, rollback_job],
        schedules=[daily_sync_schedule],
        resources={
            "lakehouse": LakehouseResource(
                config_path=config_path, spark=spark_resource_from_env()
            ),
            "source": SourceResource(),
        },
        executor=run_executor(),
    )


defs = build_definitions()

__all__ = ["BATCH_KEY", "defs"]
