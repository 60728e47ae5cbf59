"""Bad sync, plan, approve, apply, prove, undo: real Delta tables, in-process Dagster."""

from __future__ import annotations

from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.history import format_fingerprint
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.rollback.proof import IDENTICAL
from recovery_platform.domain.sync.validation import Invariant
from recovery_platform_tests.domain.rollback.lab import TABLES, Lab
from recovery_platform_tests.engine.bronze import diff_of_reads


def test_bad_sync_is_planned_applied_proven_and_undone(bad_lab: Lab) -> None:
    lab = bad_lab
    good, bad = lab.batch(-2), lab.batch(-1)
    bad_fingerprints = {t: lab.fingerprint(t) for t in TABLES}
    versions_before_plan = lab.versions()

    planned = lab.plan(good, reason="bad sync on day 4")
    plan_id = planned.output
    assert lab.versions() == versions_before_plan
    plan = lab.plan_json(plan_id)
    intents = lab.intents(plan_id)
    by_table = {t["table"]: t for t in plan["tables"]}
    assert set(by_table) == set(TABLES)

    pinned = good.pin("account").version
    expected = diff_of_reads(
        DeltaTable(lab.uri("account"), version=pinned + 1).to_pyarrow_table(),
        DeltaTable(lab.uri("account"), version=pinned).to_pyarrow_table(),
    )
    account = by_table["account"]
    diff = account["diff"]
    assert diff["state_changes"] == expected["state_changes"]
    assert expected["state_changes"]["deleted->active"] > 1000
    assert (diff["added"], diff["removed"], diff["changed"]) == (
        len(expected["added"]),
        len(expected["removed"]),
        len(expected["changed"]),
    )
    assert set(diff["sample_changed"]) <= set(expected["changed"])
    assert len(diff["sample_changed"]) == 10
    assert account["risk"] == "High"
    assert (account["current_version"], account["target_version"]) == (
        versions_before_plan["account"],
        good.pin("account").version,
    )
    for table in TABLES[1:]:
        assert by_table[table]["diff"]["changed"] == 0
        assert by_table[table]["current_version"] == by_table[table]["target_version"]
    for table in TABLES:
        assert intents[table]["CurrentVersion"] == versions_before_plan[table]
        assert intents[table]["TargetVersion"] == good.pin(table).version
        assert intents[table]["IntentStatus"] == "pending"
    markdown = planned.metadata["plan"]
    changed = len(expected["changed"])
    assert f"~{changed:,}" in markdown
    assert f"deleted->active: {expected['state_changes']['deleted->active']:,}" in markdown
    assert lab.plan_row(plan_id)["Status"] == "Planned"

    applied = lab.apply(good, plan_id)
    assert applied.success, applied.error
    lab.assert_matches_checkpoint(good, TABLES)
    assert [c["version"] for c in lab.restore_commits("account", plan_id)] == [
        versions_before_plan["account"] + 2
    ]
    for table in TABLES[1:]:
        assert lab.restore_commits(table, plan_id) == []
    assert applied.materializations["account"]["restore_status"] == "committed"
    assert applied.materializations["account"]["active"] == good.pin("account").counts.active
    assert applied.materializations["contact"]["restore_status"] == "noop"

    # RESTORE brings back the target version's table properties; the PostRollback checkpoint
    # must raise the retention its PreRollback and PostRollback checkpoints need again
    properties = lab.engine.get_properties(lab.uri("account"))
    assert properties["delta.deletedFileRetentionDuration"] == "interval 30 days"
    row = lab.plan_row(plan_id)
    assert row["Status"] == "Applied"
    assert row["ApprovedBy"] == "bob"
    assert row["AppliedRunIds"] == applied.run_id
    pre = lab.checkpoints("PreRollback")
    post = lab.checkpoints("PostRollback")
    assert [c.checkpoint_id for c in pre] == [row["PreRollbackCheckpointId"]]
    assert [c.checkpoint_id for c in post] == [row["PostRollbackCheckpointId"]]
    assert post[0].status.value == "Validated"
    assert good.checkpoint_id in (post[0].notes or "")
    assert plan_id in (post[0].notes or "")
    assert pre[0].checkpoint_id in (post[0].notes or "")
    assert {p.table: p.fingerprint for p in pre[0].tables} == bad_fingerprints
    assert {p.table: p.version for p in pre[0].tables} == versions_before_plan
    ops = {
        (r["OperationType"], r["TableName"], r["Status"])
        for r in lab.audit(PipelineRunId=applied.run_id)
    }
    assert {
        ("RollbackValidation", None, "Succeeded"),
        ("PreRollbackCheckpoint", None, "Succeeded"),
        ("PostRollbackCheckpoint", None, "Succeeded"),
    } <= ops
    for table in TABLES:
        assert ("TableRestore", table, "Succeeded") in ops
        assert ("PostRollbackValidation", table, "Succeeded") in ops
    validations = lab.store.rows(
        MetadataTable.DataValidation, equals={"PipelineRunId": applied.run_id}
    )
    assert len(validations) == (7 + len(Invariant)) * len(TABLES)  # metrics and invariants
    assert all(v["ValidationPassed"] for v in validations)
    assert {v["ActualValue"] for v in validations
            if v["ValidationType"] == "matches_checkpoint_all_columns"} == {IDENTICAL}
    fingerprint_row = next(
        v
        for v in validations
        if v["TableName"] == "account" and v["ValidationType"] == "matches_checkpoint_fingerprint"
    )
    assert fingerprint_row["ActualValue"] == format_fingerprint(good.pin("account").fingerprint)

    undo_plan = lab.rollback(
        checkpoint_id=pre[0].checkpoint_id,
        checkpoint_type="PreRollback",
        requested_by="carol",
        reason="undo",
    )
    assert undo_plan.success, undo_plan.error
    undo = lab.rollback(
        checkpoint_id=pre[0].checkpoint_id,
        checkpoint_type="PreRollback",
        requested_by="carol",
        approved_by="alice",
        approved_plan_id=undo_plan.output,
        dry_run=False,
    )
    assert undo.success, undo.error
    for table in TABLES:
        assert lab.fingerprint(table) == bad_fingerprints[table]
    bad_counts = bad.pin("account").counts
    now = lab.engine.row_counts(lab.uri("account"), lab.house.config.table("account").shape)
    assert (now.active, now.deleted) == (bad_counts.active, bad_counts.deleted)
