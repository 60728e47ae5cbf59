"""Applying a recorded plan: stale, expired, mismatched and self-approved plans are refused."""

from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.sources import extract_path, write_extract
from recovery_platform_tests.domain.rollback.lab import BAD_DAY, TABLES, Lab


def _next_day_with_one_contact_renamed(lab: Lab) -> None:
    """Land extracts for the day after the bad sync: same rows, one contact's name changed."""
    day = BAD_DAY + timedelta(days=1)
    for table in TABLES:
        data = pq.read_table(extract_path(lab.landing, table, BAD_DAY))
        if table == "contact":
            names = data.column("fullname").to_pylist()
            names[0] = "Renamed After The Plan"
            data = data.set_column(data.schema.get_field_index("fullname"), "fullname", [names])
        write_extract(lab.landing, table, day, data)


def test_a_sync_commit_after_the_plan_makes_it_stale(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    _next_day_with_one_contact_renamed(lab)
    assert lab.sync(BAD_DAY + timedelta(days=1)).success
    versions = lab.versions()
    run = lab.apply(target, plan_id)
    assert not run.success
    assert f"plan {plan_id} is stale: contact (version {versions['contact']}: MERGE at" in (
        run.error
    )
    assert "Nothing was restored; make a new plan and review it." in run.error
    assert lab.versions() == versions
    assert lab.checkpoints("PreRollback") == []
    assert lab.plan_row(plan_id)["Status"] == "Planned"


def test_vacuum_and_optimize_after_the_plan_are_not_staleness(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    lab.engine.optimize(lab.uri("account"), zorder_columns=["LastSynced"])
    for table in TABLES:
        lab.engine.vacuum(lab.uri(table), retention_hours=168, dry_run=False)
    for table in TABLES[1:]:
        # their target is their current version: older versions' files are not needed
        DeltaTable(lab.uri(table)).vacuum(
            retention_hours=0, enforce_retention_duration=False, dry_run=False
        )
    assert lab.engine.history(lab.uri("account"))[0].operation == "OPTIMIZE"
    for table in TABLES[1:]:
        operations = [c.operation for c in lab.engine.history(lab.uri(table), limit=2)]
        assert operations == ["VACUUM END", "VACUUM START"]
    run = lab.apply(target, plan_id)
    assert run.success, run.error
    for table in TABLES:
        assert lab.fingerprint(table) == target.pin(table).fingerprint
    assert lab.plan_row(plan_id)["Status"] == "Applied"


def test_expired_plan_is_refused(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    lab.store.upsert(
        MetadataTable.RollbackPlans,
        [{"PlanId": plan_id, "ExpiresAt": utc_now() - timedelta(minutes=1)}],
        key="PlanId",
    )
    versions = lab.versions()
    run = lab.apply(target, plan_id)
    assert not run.success
    assert f"plan {plan_id} expired at" in run.error and "make a new plan" in run.error
    assert lab.versions() == versions
    audit = lab.audit(PipelineRunId=run.run_id)
    assert [(a["OperationType"], a["Status"]) for a in audit] == [("RollbackValidation", "Failed")]


@pytest.mark.parametrize("mismatch", ["checkpoint", "tables_scope"])
def test_apply_with_another_checkpoint_or_scope_is_refused(bad_lab: Lab, mismatch: str) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    versions = lab.versions()
    if mismatch == "checkpoint":
        other = lab.batch(0)
        run = lab.apply(other, plan_id)
        expected = (
            f"field 'approved_plan_id': plan {plan_id} targets checkpoint "
            f"{target.checkpoint_id}, not {other.checkpoint_id}"
        )
    else:
        run = lab.apply(target, plan_id, tables_scope=["account"])
        expected = (
            f"field 'tables_scope': plan {plan_id} covers account, activitypointer, "
            "contact, donation; this run asks for account"
        )
    assert not run.success
    assert expected in run.error
    assert lab.versions() == versions


@pytest.mark.parametrize("approver", ["alice", " Alice "])
def test_the_requester_cannot_approve_their_own_plan(bad_lab: Lab, approver: str) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    versions = lab.versions()
    run = lab.apply(target, plan_id, approved_by=approver)
    assert not run.success
    name = approver.strip()
    assert f"field 'approved_by': {name} requested this plan; another admin must approve" in (
        run.error
    )
    assert lab.versions() == versions


def test_an_approved_plan_with_dry_run_true_changes_nothing(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    versions = lab.versions()
    run = lab.apply(target, plan_id, dry_run=True)
    assert not run.success
    assert f"plan {plan_id} is approved but dry_run is true; set dry_run: false" in run.error
    assert lab.versions() == versions


def test_an_applied_plan_cannot_be_applied_again(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    first = lab.apply(target, plan_id)
    assert first.success, first.error
    versions = lab.versions()
    again = lab.apply(target, plan_id)
    assert not again.success
    assert f"plan {plan_id} was already applied (runs {first.run_id}); make a new plan" in (
        again.error
    )
    assert lab.versions() == versions


def test_without_approval_the_plan_is_applied_in_the_same_run(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    run = lab.rollback(checkpoint_id=target.checkpoint_id, require_approval=False, dry_run=False)
    assert run.success, run.error
    assert lab.fingerprint("account") == target.pin("account").fingerprint
    assert lab.plan_row(run.output)["Status"] == "Applied"
