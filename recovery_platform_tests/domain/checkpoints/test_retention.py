"""The retention rule: a checkpoint kept R days raises its tables' Delta retention to R days."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.retention import (
    FILE_RETENTION,
    LOG_RETENTION,
    covers,
    interval_days,
    required_changes,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.purge.record import PurgeRequest, record_purge
from recovery_platform_tests.domain.extracts import land_small_crm
from recovery_platform_tests.domain.sync_runs import sync_run

D1 = date(2026, 4, 1)
YEAR = "interval 365 days"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("interval 30 days", 30),
        ("interval 1 day", 1),
        ("30 days", 30),
        ("INTERVAL 7 DAYS", 7),
        ("interval 2 weeks", 14),
        ("1 week", 7),
        ("interval 36 hours", 1.5),
        ("interval 1440 minutes", 1),
        ("interval 86400 seconds", 1),
        ("  interval   365   days  ", 365),
        ("interval 1 week 2 days", 9),
        ("interval 1 day 12 hours", 1.5),
    ],
)
def test_interval_days_parses_delta_intervals(text: str, days: float) -> None:
    assert interval_days(text) == pytest.approx(days)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "forever",
        "30",
        "days",
        "interval",
        "interval 3 fortnights",
        "interval 1 month",
        "interval -1 days",
        "interval 1.5 days",
        "interval 30 days 2",
    ],
)
def test_interval_days_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="Delta interval"):
        interval_days(text)


def test_required_changes_uses_delta_defaults_when_properties_are_absent() -> None:
    assert required_changes({}, 7) == {}
    assert required_changes({}, 30) == {FILE_RETENTION: "interval 30 days"}
    assert required_changes({}, 365) == {LOG_RETENTION: YEAR, FILE_RETENTION: YEAR}
    assert required_changes({LOG_RETENTION: "interval 2 weeks"}, 20) == {
        LOG_RETENTION: "interval 20 days",
        FILE_RETENTION: "interval 20 days",
    }
    wide = {LOG_RETENTION: "interval 400 days", FILE_RETENTION: "interval 60 weeks"}
    assert required_changes(wide, 365) == {}
    assert covers(wide, 365) and not covers({}, 365)


def record(lakehouse: Lakehouse, store: MetadataStore, tables: tuple[str, ...]) -> str:
    audit = AuditTrail(store, "purge-run")
    request = PurgeRequest(tables, D1, None, "annual purge", "dpo@example.org")
    checkpoint = record_purge(lakehouse, store, audit, request)
    audit.flush()
    return checkpoint.checkpoint_id


def test_pre_purge_checkpoint_raises_retention_to_365_days_and_audits_it(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    engine = lakehouse.engine
    account, contact = lakehouse.bronze_uri("account"), lakehouse.bronze_uri("contact")
    engine.set_properties(contact, {LOG_RETENTION: "interval 400 days", FILE_RETENTION: YEAR})
    versions = {
        t: engine.state(lakehouse.bronze_uri(t)).version for t in lakehouse.config.table_names
    }

    checkpoint_id = record(lakehouse, store, ("account", "contact"))

    properties = engine.get_properties(account)
    assert (properties[LOG_RETENTION], properties[FILE_RETENTION]) == (YEAR, YEAR)
    assert properties["delta.enableChangeDataFeed"] == "true"
    assert engine.state(account).version == versions["account"] + 1
    assert engine.state(contact).version == versions["contact"]
    assert engine.get_properties(contact)[LOG_RETENTION] == "interval 400 days"
    for untouched in ("donation", "activitypointer"):
        assert engine.state(lakehouse.bronze_uri(untouched)).version == versions[untouched]

    rows = store.rows(
        MetadataTable.SyncAuditLog, equals={"OperationType": "TableRetentionAdjusted"}
    )
    assert [(r["TableName"], r["Status"], r["DeltaVersion"]) for r in rows] == [
        ("account", "Succeeded", versions["account"] + 1)
    ]
    details = json.loads(rows[0]["DetailsJson"])
    assert details == {
        "before": {
            LOG_RETENTION: "default (30 days)",
            FILE_RETENTION: "default (7 days)",
        },
        "after": {LOG_RETENTION: YEAR, FILE_RETENTION: YEAR},
        "required_days": 365,
    }
    parent = store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointId": checkpoint_id})[0]
    assert parent["CheckpointType"] == "PrePurge"
    assert (parent["RetentionDate"] - parent["CreatedDate"].date()).days == 365
    pins = store.rows(MetadataTable.CheckpointTables, equals={"CheckpointId": checkpoint_id})
    assert {p["TableName"]: p["DeltaVersion"] for p in pins} == {
        "account": versions["account"],
        "contact": versions["contact"],
    }


def test_shorter_checkpoints_never_lower_retention(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1, tables=["account"])
    record(lakehouse, store, ("account",))
    uri = lakehouse.bronze_uri("account")
    version = lakehouse.engine.state(uri).version

    result = sync_run(lakehouse, store, leases, landing, D1, tables=["account"])

    assert result.tables["account"].checkpoint is not None
    assert lakehouse.engine.state(uri).version == version
    assert lakehouse.engine.get_properties(uri)[FILE_RETENTION] == YEAR
