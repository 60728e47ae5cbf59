"""A real weekly run on an aged table: pinned versions survive, an unpinned one is reclaimed.

Account is synced for three days, its commits are made to look forty days old (older than the
30 days its PreMaintenance checkpoint secures), day 2's checkpoints are deactivated so that
day 2's version is pinned by nobody, and a fourth day is synced. The run then optimizes and
vacuums account for real. One run, several tests reading what it left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.history import load_checkpoint
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, CheckpointType
from recovery_platform.domain.maintenance.summary import MaintenanceSummary
from recovery_platform.domain.rollback.plan import make_plan
from recovery_platform.domain.rollback.request import SelectedCheckpoint, validate_request
from recovery_platform.engine import WHOLE_ROWS, KeyDiff
from recovery_platform_tests.domain.maintenance.aging import age_commit, age_commits
from recovery_platform_tests.domain.maintenance.scenario import (
    FORTY_DAYS,
    audit_trail,
    checkpoints_pinning,
    deactivate,
    maintain,
    rows,
)
from recovery_platform_tests.domain.site import DEMO_START, Site, copy_site
from recovery_platform_tests.domain.sync_runs import sync_run

TABLE = "account"
DAY1, DAY2, DAY3 = 1, 2, 3
"""account's versions written by the first three syncs (0 is its creation)."""


@dataclass
class WeeklyRun:
    site: Site
    summary: MaintenanceSummary
    run_id: str
    version_before: int
    fingerprints: dict[int, int]
    removed_by_day3: list[Path]
    diff_before: KeyDiff


def plan_diff(site: Site, checkpoint_id: str) -> KeyDiff:
    """The key diff a rollback plan of account to `checkpoint_id` reports."""
    request = validate_request(site.lakehouse.config, checkpoint_id=checkpoint_id,
                               tables_scope=[TABLE], reason="test", requested_by="alice")
    checkpoint = load_checkpoint(site.store, checkpoint_id)
    plan = make_plan(site.lakehouse, site.store, audit_trail(site.store), request,
                     SelectedCheckpoint(checkpoint, "by id"))
    assert plan.ok, plan.refusals
    return plan.tables[0].diff


def day1_checkpoint(site: Site) -> str:
    batch = [c for c in checkpoints_pinning(site.store, TABLE, DAY1)
             if load_checkpoint(site.store, c).checkpoint_type is CheckpointType.DailyBatch]
    return batch[0]


@pytest.fixture(scope="module")
def weekly(synced_template: Site, tmp_path_factory: pytest.TempPathFactory) -> WeeklyRun:
    site = copy_site(synced_template, tmp_path_factory.mktemp("weekly"))
    uri = site.lakehouse.bronze_uri(TABLE)
    engine = site.lakehouse.engine
    fingerprints = {v: engine.fingerprint(uri, WHOLE_ROWS, v) for v in (DAY1, DAY2, DAY3)}
    age_commits(uri, range(DAY3), FORTY_DAYS)
    removed = age_commit(uri, DAY3, FORTY_DAYS)  # day 2's files, which nothing else needs
    deactivate(site.store, checkpoints_pinning(site.store, TABLE, DAY2))
    sync_run(site.lakehouse, site.store, site.leases, site.landing, DEMO_START + timedelta(days=3))
    diff_before = plan_diff(site, day1_checkpoint(site))
    before = engine.state(uri).version
    summary, run_id = maintain(site, tables=[TABLE], operations=["vacuum", "optimize"],
                               dry_run=False)
    return WeeklyRun(site, summary, run_id, before, fingerprints,
                     [p for p in removed if p.exists()], diff_before)


def test_every_version_an_active_checkpoint_pins_is_still_restorable(weekly: WeeklyRun) -> None:
    site = weekly.site
    engine = site.lakehouse.engine.without_memory()
    uri = site.lakehouse.bronze_uri(TABLE)
    table_id = engine.state(uri).table_id
    assert weekly.summary.successes == (TABLE,), weekly.summary.markdown()
    active = {r["CheckpointId"] for r in rows(site.store, MetadataTable.CheckpointHistory,
                                              IsActive=True)}
    pinned = {r["DeltaVersion"] for r in rows(site.store, MetadataTable.CheckpointTables,
                                              TableName=TABLE) if r["CheckpointId"] in active}
    assert {DAY1, DAY3, weekly.version_before} <= pinned
    for version in sorted(pinned):
        answer = engine.is_restorable(uri, version, table_id)
        assert answer.restorable, (version, answer.reason)
        if version in weekly.fingerprints:
            assert engine.fingerprint(uri, WHOLE_ROWS, version) == weekly.fingerprints[version]


def test_the_files_of_an_unpinned_aged_version_are_deleted(weekly: WeeklyRun) -> None:
    site, summary = weekly.site, weekly.summary
    uri = site.lakehouse.bronze_uri(TABLE)
    engine = site.lakehouse.engine.without_memory()
    outcome = summary.tables[0].vacuum
    assert outcome is not None and not outcome.dry_run
    assert summary.files_removed >= 1 and summary.bytes_reclaimed > 0
    assert outcome.unreachable_versions == (DAY2,)
    assert outcome.pinned_unreachable == ()
    assert not engine.is_restorable(uri, DAY2, engine.state(uri).table_id).restorable
    assert all(not p.exists() for p in weekly.removed_by_day3)
    # the PreMaintenance checkpoint secured 30 days on the table: used, and both reported
    assert (outcome.configured_hours, outcome.effective_hours) == (168, 720)
    assert "168 / 720" in summary.markdown()
    vacuum_rows = rows(site.store, MetadataTable.SyncAuditLog, PipelineRunId=weekly.run_id,
                       OperationType="Vacuum")
    assert [(r["Status"], r["FilesAffected"]) for r in vacuum_rows] == [
        ("Succeeded", len(outcome.files))]
    assert vacuum_rows[0]["BytesAffected"] == summary.bytes_reclaimed
    assert summary.size_before > 0 and summary.size_after > 0


def test_a_pre_maintenance_checkpoint_pins_the_table_before_the_first_write(
    weekly: WeeklyRun,
) -> None:
    site = weekly.site
    uri = site.lakehouse.bronze_uri(TABLE)
    taken = rows(site.store, MetadataTable.CheckpointHistory,
                 CheckpointType=CheckpointType.PreMaintenance.value)
    assert len(taken) == 1 and taken[0]["TableName"] == TABLE
    assert weekly.summary.tables[0].checkpoint_id == taken[0]["CheckpointId"]
    checkpoint = load_checkpoint(site.store, taken[0]["CheckpointId"])
    assert checkpoint.status.value == "Validated"
    assert (checkpoint.retention_date - checkpoint.created.date()).days == 30
    assert checkpoint.pin(TABLE).version == weekly.version_before
    later = [c for c in site.lakehouse.engine.history(uri) if c.version > weekly.version_before]
    assert {c.operation for c in later} <= {"SET TBLPROPERTIES", "OPTIMIZE", "VACUUM START",
                                             "VACUUM END"}
    steps = sorted(rows(site.store, MetadataTable.SyncAuditLog, PipelineRunId=weekly.run_id),
                   key=lambda r: r["StartTime"])
    order = [r["OperationType"] for r in steps]
    assert order[:4] == ["TableRetentionAdjusted", "CheckpointCreated", "Optimize", "Vacuum"]
    optimize = steps[2]
    assert optimize["Status"] == AuditStatus.Succeeded.value and optimize["FilesAffected"] >= 1


def test_a_rollback_plan_after_the_vacuum_still_reports_row_level_impact(
    weekly: WeeklyRun,
) -> None:
    site = weekly.site
    after = plan_diff(site, day1_checkpoint(site))
    before = weekly.diff_before
    assert after.added + after.removed + after.changed > 0
    assert (after.added, after.removed, after.changed, after.state_changes) == (
        before.added, before.removed, before.changed, before.state_changes)
