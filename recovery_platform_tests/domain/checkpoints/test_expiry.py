"""Retention enforcement: expired checkpoints are deactivated (never deleted) by RetentionDate."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.expiry import (
    DEACTIVATION_FAILED,
    expire_checkpoints,
    expired_rows,
)
from recovery_platform.domain.checkpoints.manual import create_manual_checkpoint
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail, utc_now
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.purge.record import PurgeRequest, record_purge
from recovery_platform_tests.domain.extracts import land_small_crm, metadata_versions
from recovery_platform_tests.domain.site import Site, copy_site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

D1 = date(2026, 4, 1)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """One sync (4 Daily + 1 DailyBatch), a Manual, a long-term Manual and a PrePurge."""
    site = make_site(tmp_path_factory.mktemp("expiry"))
    land_small_crm(site.landing, D1)
    sync_run(site.lakehouse, site.store, site.leases, site.landing, D1)
    audit = AuditTrail(site.store, "setup", Actor(requested_by="alice"))
    for name, long_term in (("before_release", False), ("year_end", True)):
        create_manual_checkpoint(site.lakehouse, site.store, audit, name=name, tables=None,
                                 reason="test", requested_by="alice", long_term=long_term)
    record_purge(site.lakehouse, site.store, audit,
                 PurgeRequest(("account",), D1, None, "annual purge", "dpo@example.org"))
    audit.flush()
    return site


@pytest.fixture
def site(template: Site, tmp_path: Path) -> Site:
    return copy_site(template, tmp_path)


def history(site: Site) -> dict[str, dict[str, Any]]:
    return {r["CheckpointId"]: r for r in site.store.rows(MetadataTable.CheckpointHistory)}


def expire(site: Site, today: date, *, dry_run: bool = False) -> Any:
    audit = AuditTrail(site.store, f"maintenance-{today}", Actor(requested_by="ops",
                                                                 dry_run=dry_run))
    outcome = expire_checkpoints(site.store, audit, today=today, dry_run=dry_run)
    audit.flush()
    return outcome


def enforcement_audit(site: Site, run_id: str) -> list[dict[str, Any]]:
    return site.store.rows(MetadataTable.SyncAuditLog, equals={
        "OperationType": "CheckpointRetentionEnforcement", "PipelineRunId": run_id})


def test_expired_checkpoints_are_deactivated_audited_and_kept(site: Site) -> None:
    before = history(site)
    today = utc_now().date() + timedelta(days=8)  # Daily and DailyBatch keep 7 days

    outcome = expire(site, today)

    after = history(site)
    assert after.keys() == before.keys()  # rows are never deleted
    expired = {i for i, r in before.items() if r["CheckpointType"] in ("Daily", "DailyBatch")}
    assert set(outcome.deactivated) == expired and len(outcome.deactivated) == 5
    assert outcome.names == tuple(before[i]["CheckpointName"] for i in outcome.deactivated)
    assert outcome.failures == ()
    for checkpoint_id, row in after.items():
        gone = checkpoint_id in expired
        assert row["IsActive"] is not gone
        assert (row["DeactivatedAt"] is not None) is gone
        assert {k: v for k, v in row.items() if k not in ("IsActive", "DeactivatedAt")} == {
            k: v for k, v in before[checkpoint_id].items()
            if k not in ("IsActive", "DeactivatedAt")}
    audit = enforcement_audit(site, f"maintenance-{today}")
    assert sorted(a["CheckpointId"] for a in audit) == sorted(expired)
    assert {(a["Status"], a["DryRun"]) for a in audit} == {("Succeeded", False)}
    assert {json.loads(a["DetailsJson"])["action"] for a in audit} == {"deactivated"}
    assert expire(site, today).deactivated == ()  # already inactive: nothing to do again


def test_every_type_expires_only_after_its_own_retention_date(site: Site) -> None:
    """PrePurge and Manual follow their own dates; a long-term Manual keeps its long date."""
    created = min(r["CreatedDate"] for r in history(site).values()).date()
    kinds = {r["CheckpointId"]: (r["CheckpointType"], r["LongTerm"])
             for r in history(site).values()}
    newly = {}
    for days in (7, 8, 30, 31, 365, 366, 3650, 3651):
        outcome = expire(site, created + timedelta(days=days))
        newly[days] = sorted(kinds[i] for i in outcome.deactivated)
    assert newly == {
        7: [], 8: [("Daily", False)] * 4 + [("DailyBatch", False)],
        30: [], 31: [("Manual", False)],
        365: [], 366: [("PrePurge", False)],
        3650: [], 3651: [("Manual", True)],
    }


def test_dry_run_changes_nothing_and_writes_only_its_audit_rows(site: Site) -> None:
    today = utc_now().date() + timedelta(days=8)
    before, versions = history(site), metadata_versions(site.lakehouse)

    outcome = expire(site, today, dry_run=True)

    assert len(outcome.deactivated) == 5
    assert history(site) == before
    changed = {t for t, v in metadata_versions(site.lakehouse).items() if versions[t] != v}
    assert changed == {"SyncAuditLog"}
    audit = enforcement_audit(site, f"maintenance-{today}")
    assert sorted(a["CheckpointId"] for a in audit) == sorted(outcome.deactivated)
    assert {(a["Status"], a["DryRun"]) for a in audit} == {("Succeeded", True)}
    assert {json.loads(a["DetailsJson"])["action"] for a in audit} == {"would deactivate"}


def test_a_failed_deactivation_is_reported_alerted_and_does_not_stop_the_others(
    site: Site,
) -> None:
    """The metadata table itself refuses one row's change (a constraint), as storage could."""
    uri = site.lakehouse.metadata_uri(MetadataTable.CheckpointHistory)
    DeltaTable(uri).alter.add_constraint(
        {"account_stays": "IsActive OR TableName IS NULL OR TableName <> 'account'"})
    stuck = next(r for r in history(site).values()
                 if r["CheckpointType"] == "Daily" and r["TableName"] == "account")
    today = utc_now().date() + timedelta(days=8)

    outcome = expire(site, today)

    assert len(outcome.deactivated) == 4 and stuck["CheckpointId"] not in outcome.deactivated
    (failure,) = outcome.failures
    assert failure.startswith(f"checkpoint {stuck['CheckpointName']} ({stuck['CheckpointId']}): ")
    assert history(site)[stuck["CheckpointId"]]["IsActive"] is True
    assert sum(not r["IsActive"] for r in history(site).values()) == 4
    (alert,) = site.store.rows(MetadataTable.Alerts, equals={"AlertType": DEACTIVATION_FAILED})
    assert (alert["Severity"], alert["TableName"]) == ("CRITICAL", "account")
    assert stuck["CheckpointId"] in alert["Message"]
    failed = [a for a in enforcement_audit(site, f"maintenance-{today}")
              if a["Status"] == "Failed"]
    assert [a["CheckpointId"] for a in failed] == [stuck["CheckpointId"]]


def test_expired_rows_is_strictly_before_today() -> None:
    rows = [
        {"CheckpointId": "a", "IsActive": True, "RetentionDate": D1, "CreatedDate": 2},
        {"CheckpointId": "b", "IsActive": True, "RetentionDate": D1 - timedelta(days=1),
         "CreatedDate": 1},
        {"CheckpointId": "c", "IsActive": False, "RetentionDate": D1 - timedelta(days=9),
         "CreatedDate": 0},
    ]
    assert [r["CheckpointId"] for r in expired_rows(rows, D1)] == ["b"]
    assert [r["CheckpointId"] for r in expired_rows(rows, D1 + timedelta(days=1))] == ["b", "a"]
