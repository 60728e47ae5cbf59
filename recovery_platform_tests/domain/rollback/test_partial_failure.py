"""One table fails, the others still restore, and every report says which."""

from __future__ import annotations

from pathlib import Path

from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.retention import covers
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform_tests.domain.rollback.lab import TABLES, Lab


def _plan_with_contact_changed(lab: Lab) -> str:
    """A plan restoring account (bad sync) and contact (one row edited after the checkpoint)."""
    contact = DeltaTable(lab.uri("contact")).to_pyarrow_table(columns=["contactid"])
    key = contact.column("contactid")[0].as_py()
    lab.engine.update_where(
        lab.uri("contact"), equals={"contactid": key}, values={"fullname": "Typo"}
    )
    return lab.plan(lab.batch(-2)).output


def _assert_others_restored(lab: Lab, run_id: str, plan_id: str) -> None:
    target = lab.batch(-2)
    for table in TABLES[1:]:
        assert lab.fingerprint(table) == target.pin(table).fingerprint
    intents = lab.intents(plan_id)
    assert {t: intents[t]["IntentStatus"] for t in TABLES[1:]} == dict.fromkeys(
        TABLES[1:], "validated"
    )
    (restore,) = lab.restore_commits("contact", plan_id)
    assert intents["contact"]["RestoreVersion"] == restore["version"]
    proofs = {
        r["TableName"]: r["Status"]
        for r in lab.audit(PipelineRunId=run_id, OperationType="PostRollbackValidation")
    }
    assert {t: proofs[t] for t in TABLES[1:]} == dict.fromkeys(TABLES[1:], "Succeeded")
    assert lab.plan_row(plan_id)["Status"] == "PartiallyApplied"
    assert lab.checkpoints("PostRollback") == []
    assert len(lab.checkpoints("PreRollback")) == 1
    # RESTORE brought back the target's (7-day) retention; the 30-day PreRollback undo path
    # must stay restorable even without a PostRollback checkpoint
    properties = lab.engine.get_properties(lab.uri("contact"))
    assert properties["delta.deletedFileRetentionDuration"] == "interval 30 days"
    assert covers(properties, 30) and not covers(properties, 31)


def test_a_restore_that_fails_does_not_stop_the_others(bad_lab: Lab) -> None:
    lab = bad_lab
    plan_id = _plan_with_contact_changed(lab)
    account = lab.versions()["account"]
    # the PreRollback checkpoint commits account's retention at account + 1; something else
    # already occupies account + 2, where the restore would commit
    blocker = Path(lab.uri("account")) / "_delta_log" / f"{account + 2:020d}.json"
    blocker.mkdir()

    run = lab.apply(lab.batch(-2), plan_id)

    assert not run.success
    assert (
        f"Rollback {plan_id} partially failed: account did not restore or did not "
        "validate; the other tables were restored. Undo with PreRollback checkpoint"
    ) in (run.error)
    assert run.failure_metadata == {"failed_tables": ["account"]}
    blocker.rmdir()
    assert lab.versions()["account"] == account + 1
    assert lab.restore_commits("account", plan_id) == []
    intents = lab.intents(plan_id)
    assert intents["account"]["IntentStatus"] == "failed"
    assert intents["account"]["ErrorMessage"]
    restores = {
        r["TableName"]: r for r in lab.audit(PipelineRunId=run.run_id, OperationType="TableRestore")
    }
    assert restores["account"]["Status"] == "Failed"
    assert restores["account"]["ErrorMessage"] == intents["account"]["ErrorMessage"]
    assert {t: restores[t]["Status"] for t in TABLES[1:]} == dict.fromkeys(TABLES[1:], "Succeeded")
    _assert_others_restored(lab, run.run_id, plan_id)
    assert set(run.materializations) == {"contact", "donation", "activitypointer"}
    assert run.materializations["contact"]["restore_status"] == "committed"


def test_a_restored_table_that_cannot_be_read_fails_its_proof_only(bad_lab: Lab) -> None:
    lab = bad_lab
    activities = DeltaTable(lab.uri("activitypointer")).to_pyarrow_table(columns=["activityid"])
    key = activities.column("activityid")[0].as_py()
    lab.engine.update_where(
        lab.uri("activitypointer"), equals={"activityid": key}, values={"subject": "Edited"}
    )
    plan_id = _plan_with_contact_changed(lab)
    target = lab.batch(-2)
    # nothing references activitypointer, so only its own proof depends on its files
    uri = lab.uri("activitypointer")
    needed = set(DeltaTable(uri, version=target.pin("activitypointer").version).file_uris())
    current = set(DeltaTable(uri).file_uris())
    Path(sorted(needed - current)[0]).write_bytes(b"not parquet any more")

    run = lab.apply(target, plan_id)

    assert not run.success
    assert run.failure_metadata == {"failed_tables": ["activitypointer"]}, run.error
    assert len(lab.restore_commits("activitypointer", plan_id)) == 1
    intents = lab.intents(plan_id)
    assert intents["activitypointer"]["IntentStatus"] == "failed"
    assert intents["activitypointer"]["ErrorMessage"].startswith(
        "the restored table or a table it references cannot be read: "
    )
    proof = lab.audit(
        PipelineRunId=run.run_id,
        OperationType="PostRollbackValidation",
        TableName="activitypointer",
    )
    assert [p["Status"] for p in proof] == ["Failed"]
    alerts = lab.store.rows(MetadataTable.Alerts, equals={"PipelineRunId": run.run_id})
    assert [(a["Severity"], a["AlertType"], a["TableName"]) for a in alerts] == [
        ("CRITICAL", "RollbackValidationFailed", "activitypointer")
    ]
    assert "roll back to the PreRollback checkpoint" in alerts[0]["Message"]
    for table in ("account", "contact", "donation"):
        assert lab.fingerprint(table) == target.pin(table).fingerprint
        assert intents[table]["IntentStatus"] == "validated"
    assert lab.plan_row(plan_id)["Status"] == "PartiallyApplied"
    assert lab.checkpoints("PostRollback") == []
    assert run.materializations["activitypointer"]["validated"] is False
    assert run.materializations["activitypointer"]["total"] == -1
    assert run.materializations["account"]["validated"] is True
