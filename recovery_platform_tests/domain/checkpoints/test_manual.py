"""Manual checkpoints: an admin pins chosen tables, with short or long-term retention."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from recovery_platform.domain.checkpoints.history import Checkpoint
from recovery_platform.domain.checkpoints.manual import create_manual_checkpoint
from recovery_platform.domain.checkpoints.retention import FILE_RETENTION, LOG_RETENTION
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.sync.validation import Invariant
from recovery_platform_tests.domain.extracts import (
    delta_log_snapshot,
    land_small_crm,
    metadata_versions,
)
from recovery_platform_tests.domain.site import Site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

D1 = date(2026, 7, 1)


@pytest.fixture
def synced(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> Lakehouse:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    return lakehouse


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """A synced lakehouse for tests that must change nothing."""
    site = make_site(tmp_path_factory.mktemp("manual"))
    land_small_crm(site.landing, D1)
    sync_run(site.lakehouse, site.store, site.leases, site.landing, D1)
    return site


def everything(lakehouse: Lakehouse) -> dict[str, object]:
    """Every metadata table's version, and every bronze table's version and `_delta_log` bytes.

    Equal before and after means nothing was written: no commit, no checkpoint file, no
    retention property change, no half-written log entry.
    """
    return {
        "metadata": metadata_versions(lakehouse),
        "bronze": {
            table: (lakehouse.engine.state(lakehouse.bronze_uri(table)).version,
                    delta_log_snapshot(lakehouse, table))
            for table in lakehouse.config.table_names
        },
    }


def manual(lakehouse: Lakehouse, store: MetadataStore, **options: Any) -> Checkpoint:
    audit = AuditTrail(store, "manual-run", Actor(requested_by="ops@example.org"))
    inputs: dict[str, Any] = {
        "name": "before_crm_upgrade",
        "tables": ["account", "donation"],
        "reason": "CRM upgrade tonight",
        "requested_by": "ops@example.org",
    }
    inputs.update(options)
    try:
        return create_manual_checkpoint(lakehouse, store, audit, **inputs)
    finally:
        audit.flush()


@pytest.mark.parametrize(("long_term", "days"), [(False, 30), (True, 3650)])
def test_manual_checkpoint_retention_comes_from_its_kind(
    synced: Lakehouse, store: MetadataStore, long_term: bool, days: int
) -> None:
    checkpoint = manual(synced, store, long_term=long_term)

    parent = store.rows(
        MetadataTable.CheckpointHistory, equals={"CheckpointId": checkpoint.checkpoint_id}
    )[0]
    assert (parent["CheckpointType"], parent["CheckpointName"]) == ("Manual", "before_crm_upgrade")
    assert (parent["LongTerm"], parent["RequestedBy"]) == (long_term, "ops@example.org")
    assert parent["RetentionDate"] == (parent["CreatedDate"] + timedelta(days=days)).date()
    assert parent["ValidationStatus"] == "Validated"
    assert parent["TablesIncluded"] == 2 and parent["Notes"] == "CRM upgrade tonight"
    for table in ("account", "donation"):
        properties = synced.engine.get_properties(synced.bronze_uri(table))
        assert properties[FILE_RETENTION] == f"interval {days} days"
        expected_log = f"interval {days} days" if days > 30 else None
        assert properties.get(LOG_RETENTION) == expected_log
        pin = checkpoint.pin(table)
        assert pin.version == synced.engine.state(synced.bronze_uri(table)).version - 1
    validated = store.rows(MetadataTable.DataValidation, equals={"PipelineRunId": "manual-run"})
    assert {(r["TableName"], r["ValidationType"], r["Context"], r["ValidationPassed"])
            for r in validated} == {(t, i.value, "ManualCheckpoint", True)
                                   for t in ("account", "donation") for i in Invariant}
    audit = store.rows(MetadataTable.SyncAuditLog, equals={"PipelineRunId": "manual-run"})
    operations = sorted((r["OperationType"], r["TableName"]) for r in audit)
    assert operations == [
        ("ManualCheckpoint", None),
        ("TableRetentionAdjusted", "account"),
        ("TableRetentionAdjusted", "donation"),
    ]


def test_manual_checkpoint_of_all_tables_when_none_are_named(
    synced: Lakehouse, store: MetadataStore
) -> None:
    checkpoint = manual(synced, store, tables=[])
    assert [p.table for p in checkpoint.tables] == list(synced.config.table_names)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"tables": ["account", "Account"]}, "tables"),
        ({"tables": ["../metadata/CheckpointHistory"]}, "tables"),
        ({"name": "bad name with spaces"}, "checkpoint_name"),
        ({"name": ""}, "checkpoint_name"),
        ({"requested_by": ""}, "requested_by"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field_and_change_nothing(
    shared: Site, options: dict[str, object], field: str
) -> None:
    synced, store = shared.lakehouse, shared.store
    before = everything(synced)
    with pytest.raises(InvalidInputError) as refused:
        manual(synced, store, **options)
    assert str(refused.value).startswith(f"field '{field}': ")
    if field == "tables":
        assert "allowed: account, contact, donation, activitypointer" in str(refused.value)
    assert everything(synced) == before
