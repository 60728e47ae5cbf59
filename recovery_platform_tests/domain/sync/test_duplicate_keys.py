"""Zero tolerance for duplicate primary keys: refused before a sync writes, failed by validation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.manual import create_manual_checkpoint
from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.rollback.record import PlanRefusedError
from recovery_platform.domain.rollback.request import validate_request
from recovery_platform.domain.rollback.run import run_rollback
from recovery_platform.domain.sync.table import SyncOverride, SyncStatus
from recovery_platform.domain.sync.validation import Invariant, validate_table
from recovery_platform.engine import DuplicateKeys
from recovery_platform_tests.domain.extracts import (
    bronze_row,
    bronze_rows,
    delta_log_snapshot,
    extract_rows,
    keys,
    land,
    land_small_crm,
)
from recovery_platform_tests.domain.site import Site, copy_site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
ROWS = 20


@pytest.fixture(scope="module")
def day1_template(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(tmp_path_factory.mktemp("duplicates"))
    land_small_crm(site.landing, D1, ROWS)
    first = sync_run(site.lakehouse, site.store, site.leases, site.landing, D1)
    assert first.batch.checkpoint.status == "Validated"
    land_small_crm(site.landing, D2, ROWS + 1)  # one new key per table: every table syncs
    return site


@pytest.fixture
def synced_day1(day1_template: Site, tmp_path: Path) -> None:
    """Day 1 synced and day 2 landed, copied to where this test's lakehouse fixtures point."""
    copy_site(day1_template, tmp_path)


@pytest.mark.parametrize(
    "repeated",
    [("account-0100", "account-0100"), ("account-0005",)],
    ids=["new-key-twice", "existing-key-again"],
)
@pytest.mark.usefixtures("synced_day1")
def test_an_extract_repeating_a_key_is_refused_and_nothing_is_written(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    repeated: tuple[str, ...],
) -> None:
    key = repeated[0]
    land(landing, "account", D2, extract_rows("account", [*keys("account", 0, ROWS), *repeated]))
    uri = lakehouse.bronze_uri("account")
    version = lakehouse.engine.state(uri).version
    log, rows = delta_log_snapshot(lakehouse, "account"), bronze_rows(lakehouse, "account")

    result = sync_run(lakehouse, store, leases, landing, D2)

    refused = result.tables["account"]
    assert refused.sync.status is SyncStatus.Refused
    assert refused.sync.duplicates == DuplicateKeys(extra_rows=1, repeated_keys=1,
                                                    sample_keys=(key,))
    assert refused.sync.version_before == refused.sync.version_after == version
    message = refused.sync.message
    assert message.startswith("sync of account refused: the extract holds 1 values of accountid")
    assert f"e.g. {key}" in message and "Nothing was written" in message
    assert lakehouse.engine.state(uri).version == version
    assert delta_log_snapshot(lakehouse, "account") == log
    assert bronze_rows(lakehouse, "account") == rows
    assert not refused.ok and refused.validation is None and refused.checkpoint is None
    for other in ("contact", "donation", "activitypointer"):
        assert result.tables[other].sync.status is SyncStatus.Synced, other
        assert result.tables[other].ok and result.tables[other].checkpoint is not None, other

    details = {"status": "Refused", "duplicate_rows": 1, "duplicate_keys": 1,
               "sample_keys": [key]}
    (audit,) = store.rows(MetadataTable.SyncAuditLog, equals={
        "PipelineRunId": result.run_id, "OperationType": "TableSync", "TableName": "account"})
    assert (audit["Status"], audit["ErrorMessage"]) == ("Held", message)
    assert json.loads(audit["DetailsJson"]) == details
    (alert,) = store.rows(MetadataTable.Alerts, equals={"PipelineRunId": result.run_id})
    assert (alert["AlertType"], alert["TableName"], alert["Severity"]) == (
        "SyncRefused", "account", "HIGH")
    assert alert["Message"] == message and json.loads(alert["DetailsJson"]) == details

    batch = result.batch.checkpoint
    assert batch.status == "Failed" and "account: sync of account refused" in (batch.notes or "")
    assert store.rows(MetadataTable.PipelineConfig,
                      equals={"TableName": "account"})[0]["LastSyncDate"] == D1


@pytest.mark.usefixtures("synced_day1")
def test_an_override_does_not_release_a_refused_table(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land(landing, "account", D2, extract_rows("account", [*keys("account", 0, ROWS),
                                                          "account-0100", "account-0100"]))
    override = SyncOverride("account", "the CRM export is fine", "head.of.data@example.org")

    result = sync_run(lakehouse, store, leases, landing, D2, overrides=[override])

    assert result.tables["account"].sync.status is SyncStatus.Refused
    assert not store.rows(MetadataTable.SyncAuditLog, equals={
        "PipelineRunId": result.run_id, "OperationType": "SyncOverride"})


@pytest.mark.usefixtures("synced_day1")
def test_unique_primary_key_fails_on_a_table_holding_a_repeated_key(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    clean = validate_table(lakehouse, "account").result(Invariant.unique_primary_key)
    assert (clean.passed, clean.violations, clean.sample_keys) == (True, 0, ())
    uri = lakehouse.bronze_uri("account")
    for key in ("account-0003", "account-0007", "account-0007"):  # written elsewhere
        lakehouse.engine.append(uri, bronze_row(lakehouse, "account", key))

    validation = validate_table(lakehouse, "account")

    assert {r.invariant for r in validation.results if not r.passed} == {
        Invariant.unique_primary_key}
    result = validation.result(Invariant.unique_primary_key)
    assert (result.violations, result.sample_keys) == (3, ("account-0003", "account-0007"))
    assert result.actual == "2 keys held by more than one row (3 extra rows)"
    assert result.expected == "each non-null key in exactly one row"

    audit = AuditTrail(store, "manual-run")
    checkpoint = create_manual_checkpoint(lakehouse, store, audit, name="before_cleanup",
                                          tables=["account"], reason="test",
                                          requested_by="pytest")
    assert checkpoint.status == "Failed"
    assert "unique_primary_key: expected each non-null key" in (checkpoint.notes or "")

    result_run = sync_run(lakehouse, store, leases, landing, D2)
    refused = result_run.tables["account"]
    assert refused.sync.status is SyncStatus.Refused
    assert refused.sync.duplicates == DuplicateKeys(3, 2, ("account-0003", "account-0007"))
    assert "holds duplicate primary keys at version" in refused.sync.message


@pytest.mark.usefixtures("synced_day1")
def test_a_rollback_plan_on_a_table_holding_a_repeated_key_is_refused_not_miscounted(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore
) -> None:
    uri = lakehouse.bronze_uri("account")
    repeated = lakehouse.engine.append(uri, bronze_row(lakehouse, "account", "account-0003"))
    (batch,) = store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointType": "DailyBatch"})
    request = validate_request(lakehouse.config, checkpoint_id=batch["CheckpointId"],
                               tables_scope=["account"], reason="test", requested_by="alice")
    audit = AuditTrail(store, "rollback-run")

    with pytest.raises(PlanRefusedError) as refused:
        run_rollback(lakehouse, store, leases, audit, request, log=lambda _: None)
    audit.flush()

    message = str(refused.value)
    assert message.startswith("rollback refused before any table was touched: table ")
    assert f"holds duplicate primary keys at version {repeated}" in message
    assert "e.g. account-0003" in message and "Recommended action: per-key impact" in message
    assert lakehouse.engine.state(uri).version == repeated
    (plan,) = store.rows(MetadataTable.RollbackPlans, equals={"PipelineRunId": "rollback-run"})
    assert plan["Status"] == "Refused"
    (step,) = store.rows(MetadataTable.SyncAuditLog, equals={
        "PipelineRunId": "rollback-run", "OperationType": "RollbackImpactAnalysis"})
    assert step["Status"] == "Failed" and "account-0003" in step["ErrorMessage"]
