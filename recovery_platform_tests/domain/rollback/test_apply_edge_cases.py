"""Applies at the edges: refused plans, risk bands, state reports, held leases, re-runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.history import format_fingerprint
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.rollback.proof import IDENTICAL
from recovery_platform_tests.domain.rollback.lab import TABLES, Lab

EDITED_COLUMN = {"account": "name", "contact": "fullname", "donation": "currency",
                 "activitypointer": "subject"}


def _frozen(lab: Lab) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Every bronze table's version and `_delta_log` listing: equal means nothing was written."""
    return lab.versions(), {t: lab.log_files(t) for t in TABLES}


def _edit(lab: Lab, table: str, count: int) -> None:
    """Change one text column of the first `count` rows by key, in one merge commit."""
    key = lab.house.config.table(table).primary_key
    data = DeltaTable(lab.uri(table)).to_pyarrow_table().sort_by(key).slice(0, count)
    column = EDITED_COLUMN[table]
    data = data.set_column(data.schema.get_field_index(column), column,
                           pa.array([f"edited {i}" for i in range(count)], pa.string()))
    lab.engine.merge_upsert(lab.uri(table), data, key=key)


def _counts(lab: Lab, table: str, version: int) -> dict[str, int]:
    """Tracking-state counts read straight from the Delta table, not through the engine."""
    key = lab.house.config.table(table).primary_key
    data = DeltaTable(lab.uri(table), version=version).to_pyarrow_table(
        columns=[key, "IsDeleted", "IsPurged"])
    deleted, purged = data.column("IsDeleted"), data.column("IsPurged")

    def rows(mask: Any) -> int:
        return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)

    return {
        "total": data.num_rows,
        "active": rows(pc.and_(pc.invert(deleted), pc.invert(purged))),
        "deleted": rows(pc.and_(deleted, pc.invert(purged))),
        "purged": rows(pc.and_(purged, pc.invert(deleted))),
        "null_keys": data.column(key).null_count,
    }


def test_a_plan_refused_at_planning_cannot_be_applied(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    lab.store.update(MetadataTable.CheckpointHistory,
                     equals={"CheckpointId": target.checkpoint_id}, values={"IsActive": False})
    planning = lab.rollback(checkpoint_id=target.checkpoint_id)
    assert not planning.success
    assert f"checkpoint {target.name} is inactive" in (planning.failure_description or "")
    (refused,) = lab.store.rows(MetadataTable.RollbackPlans)
    assert refused["Status"] == "Refused"
    plan_id = refused["PlanId"]
    # the checkpoint is usable again: only the plan's own refusal can stop the apply now
    lab.store.update(MetadataTable.CheckpointHistory,
                     equals={"CheckpointId": target.checkpoint_id}, values={"IsActive": True})
    before = _frozen(lab)

    run = lab.apply(target, plan_id)

    assert not run.success
    message = (f"plan {plan_id} was refused at planning time; make a new plan once the "
               "checkpoint problem is fixed")
    assert run.failure_description == message
    audit = lab.audit(PipelineRunId=run.run_id)
    assert [(a["OperationType"], a["Status"], a["ErrorMessage"]) for a in audit] == [
        ("RollbackValidation", "Failed", message)]
    assert _frozen(lab) == before
    assert lab.checkpoints("PreRollback") == []
    row = lab.plan_row(plan_id)
    assert (row["Status"], row["AppliedRunIds"]) == ("Refused", None)
    for table in TABLES:
        assert lab.restore_commits(table, plan_id) == []


def test_each_table_gets_the_risk_band_of_its_changed_share(lab: Lab) -> None:
    target = lab.batch(-1)
    edits = {"account": 300, "contact": 30, "donation": 3, "activitypointer": 0}
    for table, count in edits.items():
        if count:
            _edit(lab, table, count)
    rows = {t: target.pin(t).counts.total for t in TABLES}
    shares = {t: edits[t] / rows[t] for t in TABLES}
    assert shares["account"] >= 0.10 and 0.01 <= shares["contact"] < 0.10
    assert 0 < shares["donation"] < 0.01, shares

    def risks(**thresholds: float) -> dict[str, str]:
        plan_id = lab.plan(target, **thresholds).output
        plan = lab.plan_json(plan_id)
        assert {t["table"]: t["diff"]["changed"] for t in plan["tables"]} == edits
        assert plan["thresholds"] == {"medium_share": thresholds.get("risk_medium_share", 0.01),
                                      "high_share": thresholds.get("risk_high_share", 0.10)}
        return {t["table"]: t["risk"] for t in plan["tables"]}

    assert risks() == {"account": "High", "contact": "Medium", "donation": "Low",
                       "activitypointer": "Low"}
    # each band starts at its threshold: a share equal to it is in the band
    assert risks(risk_medium_share=shares["donation"], risk_high_share=shares["contact"]) == {
        "account": "High", "contact": "High", "donation": "Medium", "activitypointer": "Low"}


def test_state_snapshots_and_comparison_reports_match_the_tables(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    before = lab.versions()
    plan_id = lab.plan(target).output
    run = lab.apply(target, plan_id)
    assert run.success, run.error

    snapshots = lab.store.rows(MetadataTable.RollbackStateSnapshots, equals={"PlanId": plan_id})
    by_phase = {(s["TableName"], s["Phase"]): s for s in snapshots}
    assert len(snapshots) == len(by_phase) == 2 * len(TABLES)
    after: dict[str, int] = {}
    for table in TABLES:
        first, last = by_phase[(table, "Before")], by_phase[(table, "After")]
        assert first["PipelineRunId"] == last["PipelineRunId"] == run.run_id
        assert first["DeltaVersion"] == before[table]
        after[table] = last["DeltaVersion"]
        # the After version holds the final data: later commits (retention) change no data
        later = [c for c in DeltaTable(lab.uri(table)).history() if c["version"] > after[table]]
        assert all(c["operation"] == "SET TBLPROPERTIES" for c in later), later
        for snapshot, version in ((first, before[table]), (last, after[table])):
            counts = _counts(lab, table, version)
            assert (snapshot["TotalRows"], snapshot["ActiveRows"], snapshot["DeletedRows"],
                    snapshot["PurgedRows"]) == (counts["total"], counts["active"],
                                                counts["deleted"], counts["purged"]), table
        assert last["Fingerprint"] == format_fingerprint(target.pin(table).fingerprint)
        assert first["Fingerprint"] == format_fingerprint(lab.fingerprint(table, before[table]))
    (restore,) = lab.restore_commits("account", plan_id)
    assert after["account"] >= restore["version"] > before["account"]
    assert by_phase[("account", "Before")]["DeletedRows"] > by_phase[("account", "After")][
        "DeletedRows"] + 1000

    reports = lab.store.rows(MetadataTable.RollbackComparisonReports, equals={"PlanId": plan_id})
    by_metric = {(r["TableName"], r["MetricName"]): r for r in reports}
    assert len(reports) == len(by_metric) == 7 * len(TABLES)
    for table in TABLES:
        was = _counts(lab, table, before[table])
        now = _counts(lab, table, after[table])
        pinned = _counts(lab, table, target.pin(table).version)
        for metric in ("total", "active", "deleted", "purged", "null_keys"):
            report = by_metric[(table, metric)]
            assert (report["BeforeValue"], report["AfterValue"], report["ExpectedValue"]) == (
                str(was[metric]), str(now[metric]), str(pinned[metric])), (table, metric)
            assert report["Matches"] is (now[metric] == pinned[metric]) is True
        fingerprint = by_metric[(table, "fingerprint")]
        assert fingerprint["AfterValue"] == fingerprint["ExpectedValue"] == format_fingerprint(
            lab.fingerprint(table, target.pin(table).version))
        assert by_metric[(table, "all_columns")]["AfterValue"] == IDENTICAL
        assert {r["PipelineRunId"] for k, r in by_metric.items() if k[0] == table} == {run.run_id}
    account = by_metric[("account", "fingerprint")]
    assert account["BeforeValue"] != account["AfterValue"]


def test_a_rollback_while_a_sync_holds_a_lease_is_refused_until_it_is_released(
    bad_lab: Lab,
) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    leases = LeaseStore(lab.house.lease_root)
    held = leases.acquire("account", "sync-run")
    before = _frozen(lab)

    refused = lab.apply(target, plan_id)

    assert not refused.success
    message = ("table account is being written by run sync-run; two writers of one table are "
               "not allowed. Retry when that run ends.")
    assert refused.failure_description == message
    refusals = lab.audit(PipelineRunId=refused.run_id, OperationType="RollbackValidation",
                         Status="Failed")
    assert [r["ErrorMessage"] for r in refusals] == [message]
    assert _frozen(lab) == before
    assert lab.checkpoints("PreRollback") == []
    row = lab.plan_row(plan_id)
    assert (row["Status"], row["AppliedRunIds"]) == ("Planned", None)
    assert {t: leases.holder(t) for t in TABLES} == {
        "account": "sync-run", "contact": None, "donation": None, "activitypointer": None}

    leases.release(held)
    applied = lab.apply(target, plan_id)

    assert applied.success, applied.error
    lab.assert_matches_checkpoint(target, TABLES)
    assert len(lab.restore_commits("account", plan_id)) == 1
    assert lab.plan_row(plan_id)["AppliedRunIds"] == applied.run_id


def test_rerunning_a_partially_failed_apply_after_the_fix_converges(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    _edit(lab, "contact", 1)
    plan_id = lab.plan(target).output
    account = lab.versions()["account"]
    # as in test_partial_failure: the PreRollback checkpoint commits account's retention at
    # account + 1, and a directory squats account + 2, where its restore would commit
    blocker = Path(lab.uri("account")) / "_delta_log" / f"{account + 2:020d}.json"
    blocker.mkdir()
    failed = lab.apply(target, plan_id)
    assert not failed.success
    assert failed.failure_metadata == {"failed_tables": ["account"]}, failed.error
    assert lab.intents(plan_id)["account"]["IntentStatus"] == "failed"
    pre = lab.checkpoints("PreRollback")

    blocker.rmdir()
    rerun = lab.apply(target, plan_id)

    assert rerun.success, rerun.error
    lab.assert_matches_checkpoint(target, TABLES)
    restores = {t: len(lab.restore_commits(t, plan_id)) for t in TABLES}
    assert restores == {"account": 1, "contact": 1, "donation": 0, "activitypointer": 0}
    intents = lab.intents(plan_id)
    assert {t: intents[t]["IntentStatus"] for t in TABLES} == dict.fromkeys(TABLES, "validated")
    assert intents["account"]["ErrorMessage"] is None
    row = lab.plan_row(plan_id)
    assert row["Status"] == "Applied"
    assert row["AppliedRunIds"].split(",") == [failed.run_id, rerun.run_id]
    assert lab.checkpoints("PreRollback") == pre and len(pre) == 1
    assert len(lab.checkpoints("PostRollback")) == 1
    statuses = {r["TableName"]: (r["Status"], r["DetailsJson"])
                for r in lab.audit(PipelineRunId=rerun.run_id, OperationType="TableRestore")}
    assert {t: s for t, (s, _) in statuses.items()} == dict.fromkeys(TABLES, "Succeeded")
    assert "found in history" in statuses["contact"][1]
    assert "found in history" not in statuses["account"][1]
    assert rerun.materializations["account"]["restore_status"] == "committed"
