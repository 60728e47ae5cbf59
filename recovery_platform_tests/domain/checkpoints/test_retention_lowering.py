"""Once checkpoints expire, retention comes down to what the rest need, never below the floor."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from recovery_platform.domain.checkpoints.retention import (
    FILE_RETENTION,
    LOG_RETENTION,
    lower_retention,
    retention_floors,
    retention_report,
    table_retention,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail, utc_now
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import load_platform_config
from recovery_platform.domain.purge.record import PurgeRequest, record_purge
from recovery_platform_tests.domain.checkpoints.checkpoint_sites import D1
from recovery_platform_tests.domain.extracts import land_small_crm
from recovery_platform_tests.domain.sync_runs import sync_run

FLOORS = {LOG_RETENTION: 30, FILE_RETENTION: 7}


def test_floors_follow_the_configured_vacuum_retention() -> None:
    spec = load_platform_config().table("account")
    assert retention_floors(spec) == FLOORS  # 168 h configured
    longer = replace(spec, vacuum_retention_hours=240)
    assert retention_floors(longer) == {LOG_RETENTION: 30, FILE_RETENTION: 10}


def test_table_retention_says_what_is_missing_and_what_may_come_down() -> None:
    year = {LOG_RETENTION: "interval 365 days", FILE_RETENTION: "interval 365 days"}
    assert table_retention("t", year, 0, FLOORS).lowerable == FLOORS
    assert table_retention("t", year, 90, FLOORS).lowerable == {
        LOG_RETENTION: 90, FILE_RETENTION: 90}
    assert table_retention("t", year, 365, FLOORS).lowerable == {}
    assert not table_retention("t", year, 365, FLOORS).below_needed
    defaults = table_retention("t", {}, 10, FLOORS)
    assert (defaults.log_days, defaults.file_days) == (30, 7)
    assert defaults.below_needed and defaults.lowerable == {}


def test_retention_is_lowered_once_the_pre_purge_checkpoint_expired(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1, tables=["account", "contact"])
    audit = AuditTrail(store, "purge-run")
    record_purge(lakehouse, store, audit, PurgeRequest(("account",), D1, None, "annual",
                                                       "dpo@example.org"))
    lakehouse.engine.set_properties(lakehouse.bronze_uri("contact"),
                                    {LOG_RETENTION: "interval 2 days"})
    today = utc_now().date()

    now = {r.table: r for r in retention_report(lakehouse, store, ["account", "contact"], today)}
    assert now["account"].needed_days == 365 and now["account"].lowerable == {}
    assert now["contact"].below_needed and now["contact"].needed_days == 7

    later = retention_report(lakehouse, store, ["account"], today + timedelta(days=366))[0]
    assert later.needed_days == 0 and later.lowerable == FLOORS
    assert lower_retention(lakehouse, "account", later.needed_days, audit) is not None
    audit.flush()
    properties = lakehouse.engine.get_properties(lakehouse.bronze_uri("account"))
    assert (properties[LOG_RETENTION], properties[FILE_RETENTION]) == (
        "interval 30 days", "interval 7 days")
    assert lower_retention(lakehouse, "account", 0, audit) is None
    (row,) = [r for r in store.rows(MetadataTable.SyncAuditLog,
                                    equals={"OperationType": "TableRetentionAdjusted"})
              if json.loads(r["DetailsJson"]).get("lowered")]
    assert json.loads(row["DetailsJson"])["before"] == {
        LOG_RETENTION: "interval 365 days", FILE_RETENTION: "interval 365 days"}
