"""The one assembly point: every asset, check, job, schedule, sensor and resource of the platform.

Loading reads `tables.yaml` and nothing else: never the lakehouse, never the network.
"""

from __future__ import annotations

import dagster as dg

from recovery_platform.defs.alert_sensors import alert_sensors
from recovery_platform.defs.alerts import NotifierResource, send_test_alert_job
from recovery_platform.defs.integrity import (
    checkpoint_integrity_job,
    checkpoint_integrity_report,
    integrity_schedule,
)
from recovery_platform.defs.keys import BATCH_KEY
from recovery_platform.defs.maintenance import (
    maintenance_job,
    maintenance_report,
    maintenance_schedule,
)
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
    source_specs,
    sync_schedule,
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
        assets=[*source_specs(platform), bronze, maintenance_report,
                checkpoint_integrity_report],
        jobs=[daily_sync_job, manual_checkpoint_job, purge_metadata_job, rollback_job,
              maintenance_job, checkpoint_integrity_job, send_test_alert_job],
        schedules=[sync_schedule(platform), maintenance_schedule(platform),
                   integrity_schedule(platform)],
        sensors=alert_sensors(platform),
        resources={
            "lakehouse": LakehouseResource(
                config_path=config_path, spark=spark_resource_from_env()
            ),
            "source": SourceResource(),
            "notifier": NotifierResource.from_env(),
        },
        executor=run_executor(),
    )


defs = build_definitions()

__all__ = ["BATCH_KEY", "defs"]
