"""What an operator sees of a rollback in the Dagster UI: checks, tags, refusals, the apply YAML."""

from __future__ import annotations

import re

import dagster as dg
import pytest
import yaml

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.sync.validation import Invariant
from recovery_platform_tests.domain.rollback.lab import TABLES, Lab, RollbackRun


def refusal_rows(lab: Lab, run: RollbackRun) -> list[dict[str, object]]:
    return lab.audit(PipelineRunId=run.run_id, OperationType="RollbackValidation", Status="Failed")


def test_an_applied_rollback_reports_every_restored_tables_checks(bad_lab: Lab) -> None:
    good = bad_lab.batch(2)
    plan = bad_lab.plan(good, reason="bad sync on day 4")
    applied = bad_lab.apply(good, plan.output)
    assert applied.success, applied.error

    evaluations = {(e.asset_key.path[-1], e.check_name): e
                   for e in applied.result.get_asset_check_evaluations()}
    assert set(evaluations) == {(t, i.value) for t in TABLES for i in Invariant}
    assert all(e.passed for e in evaluations.values())
    versions = bad_lab.versions()
    for (table, _), evaluation in evaluations.items():
        assert evaluation.metadata["version"].value == versions[table]
        assert plan.output in evaluation.metadata["context"].value
    recorded = bad_lab.store.rows(MetadataTable.DataValidation, equals={
        "PipelineRunId": applied.run_id, "Context": "PostRollback"})
    invariants = {(r["TableName"], r["ValidationType"]): r["ValidationPassed"] for r in recorded
                  if not r["ValidationType"].startswith("matches_checkpoint_")}
    assert invariants == {key: True for key in evaluations}


def test_the_plans_apply_block_pastes_into_the_launchpad_and_names_no_approver(
    bad_lab: Lab,
) -> None:
    good = bad_lab.batch(2)
    plan = bad_lab.plan(good, reason="bad sync on day 4")
    block = re.search(r"```yaml\n(.*?)\n```", plan.metadata["plan"], re.DOTALL)
    assert block is not None
    pasted = yaml.safe_load(block.group(1))["ops"]["rollback"]["config"]
    assert pasted["approved_plan_id"] == plan.output and pasted["approved_by"] == ""

    refused = bad_lab.rollback(**pasted)
    assert not refused.success
    assert (refused.failure_description or "").startswith(
        "field 'approved_by': name who approved the plan")
    assert len(refusal_rows(bad_lab, refused)) == 1
    applied = bad_lab.rollback(**{**pasted, "approved_by": "bob"})
    assert applied.success, applied.error
    bad_lab.assert_matches_checkpoint(good, TABLES)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"approved_by": "bob"}, "field 'approved_plan_id': approved_by needs the plan id"),
        ({"tables_scope": ["opportunity"]}, "field 'tables_scope'"),
        ({"checkpoint_id": "no-such-id"}, "field 'checkpoint_id'"),
        ({"approved_plan_id": "no-such-plan", "approved_by": "bob", "dry_run": False},
         "no-such-plan"),
    ],
)
def test_every_refusal_is_audited_and_is_the_runs_failure_line(
    lab: Lab, config: dict[str, object], message: str
) -> None:
    config.setdefault("checkpoint_id", lab.batch(0).checkpoint_id)
    versions = lab.versions()
    run = lab.rollback(**config)
    assert not run.success
    assert run.failure_description is not None
    assert message in run.failure_description
    assert "Traceback" not in run.failure_description
    rows = refusal_rows(lab, run)
    assert [r["ErrorMessage"] for r in rows] == [run.failure_description]
    assert lab.versions() == versions


def test_an_unknown_name_lists_the_closest_names_of_its_type(lab: Lab) -> None:
    name = lab.batch(1).name
    run = lab.rollback(checkpoint_name=name[:-2] + "xx")
    assert not run.success
    described = run.failure_description or ""
    closest = re.search(r"closest DailyBatch checkpoint names: (.*)$", described)
    assert closest is not None
    offered = closest.group(1).split(", ")
    assert offered[0] == name and len(offered) == 3
    assert {c.name for c in lab.checkpoints("DailyBatch")} == set(offered)
    assert len(refusal_rows(lab, run)) == 1


def test_rollback_runs_carry_tags_to_filter_the_runs_list(lab: Lab) -> None:
    instance = dg.DagsterInstance.ephemeral()
    target = lab.batch(1)
    plan = lab.rollback(instance, checkpoint_id=target.checkpoint_id)
    apply = lab.apply(target, plan.output, instance=instance, requested_by="carol")
    assert apply.success, apply.error
    tags = {run.run_id: instance.get_run_by_id(run.run_id).tags for run in (plan, apply)}
    assert {k: v for k, v in tags[plan.run_id].items() if k.startswith("rollback/")} == {
        "rollback/mode": "plan", "rollback/checkpoint": target.checkpoint_id,
        "rollback/requested_by": "alice", "rollback/plan_id": plan.output}
    assert {k: v for k, v in tags[apply.run_id].items() if k.startswith("rollback/")} == {
        "rollback/mode": "apply", "rollback/checkpoint": target.checkpoint_id,
        "rollback/requested_by": "carol", "rollback/plan_id": plan.output}
