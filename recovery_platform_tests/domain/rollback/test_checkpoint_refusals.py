"""Refusals before anything is touched: bad fields, unusable checkpoints, vacuumed files, DVs."""

from __future__ import annotations

import shutil
import uuid

import dagster as dg
import pytest
from dagster._config.errors import DagsterEvaluationErrorReason, RuntimeMismatchErrorData
from deltalake import DeltaTable, TableFeatures

from recovery_platform.domain.checkpoints.manual import create_manual_checkpoint
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.rollback.request import validate_request
from recovery_platform_tests.domain.rollback.lab import TABLES, Lab


def _unchanged(lab: Lab, before: dict[str, list[str]]) -> None:
    assert {t: lab.log_files(t) for t in TABLES} == before


def _logs(lab: Lab) -> dict[str, list[str]]:
    return {t: lab.log_files(t) for t in TABLES}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"checkpoint_name": "no_such_checkpoint"},
            "field 'checkpoint_name': no checkpoint named 'no_such_checkpoint' of type DailyBatch",
        ),
        (
            {"checkpoint_id": "00000000-0000-0000-0000-000000000000"},
            "field 'checkpoint_id': no checkpoint has id '00000000-0000-0000-0000-000000000000'",
        ),
        (
            {"checkpoint_name": "x", "checkpoint_id": "y"},
            "field 'checkpoint_name': give exactly one of checkpoint_name, checkpoint_id or "
            "restore_before (got checkpoint_name, checkpoint_id)",
        ),
        (
            {},
            "field 'checkpoint_name': give exactly one of checkpoint_name, checkpoint_id or "
            "restore_before (got none)",
        ),
        (
            {"checkpoint_name": "x", "requested_by": " "},
            "field 'requested_by': must name the admin asking for the rollback",
        ),
        (
            {"checkpoint_name": "x", "tables_scope": ["account", "opportunity"]},
            "field 'tables_scope'",
        ),
        (
            {"restore_before": "yesterday"},
            "field 'restore_before': 'yesterday' is not an ISO timestamp",
        ),
        (
            {"checkpoint_name": "x", "approved_by": "bob"},
            "field 'approved_plan_id': approved_by needs the plan id it approves",
        ),
        (
            {"checkpoint_name": "x", "approved_plan_id": "p"},
            "field 'approved_by': name who approved the plan",
        ),
    ],
)
def test_bad_fields_fail_at_once_naming_the_field(
    lab: Lab, config: dict[str, object], expected: str
) -> None:
    before = _logs(lab)
    run = lab.rollback(**config)
    assert not run.success
    assert expected in run.error
    assert run.failure_description is not None
    assert run.failure_description.startswith(expected)
    audit = lab.audit(PipelineRunId=run.run_id)
    assert [(a["OperationType"], a["Status"], a["ErrorMessage"]) for a in audit] == [
        ("RollbackValidation", "Failed", run.failure_description)
    ]
    _unchanged(lab, before)
    assert lab.store.rows(MetadataTable.RollbackPlans) == []


def test_unknown_table_lists_the_allowed_tables(lab: Lab) -> None:
    run = lab.rollback(checkpoint_name="x", tables_scope=["opportunity"])
    assert "opportunity" in run.error
    for table in TABLES:
        assert table in run.error


def test_wrong_checkpoint_type_is_refused_naming_the_allowed_types(lab: Lab) -> None:
    with pytest.raises(InvalidInputError) as raised:
        validate_request(
            lab.house.config, checkpoint_name="x", checkpoint_type="Daily", requested_by="alice"
        )
    assert raised.value.field == "checkpoint_type"
    assert str(raised.value) == (
        "field 'checkpoint_type': 'Daily' is not a rollback target type; allowed: DailyBatch, "
        "PrePurge, Manual, PreRollback, PostRollback. Nothing was changed."
    )
    # from the launchpad, Dagster refuses the value itself: checkpoint_type is an enum field
    before = _logs(lab)
    with pytest.raises(dg.DagsterInvalidConfigError) as invalid:
        lab.rollback(checkpoint_name="x", checkpoint_type="Daily")
    (error,) = invalid.value.errors
    assert error.reason is DagsterEvaluationErrorReason.RUNTIME_TYPE_MISMATCH
    path = [entry.field_name for entry in error.stack.entries]
    assert path == ["ops", "rollback", "config", "checkpoint_type"]
    assert isinstance(error.error_data, RuntimeMismatchErrorData)
    assert error.error_data.value_rep == "'Daily'"
    allowed = [v.value for v in error.error_data.config_type_snap.enum_values or ()]
    assert allowed == ["DailyBatch", "PrePurge", "Manual", "PreRollback", "PostRollback"]
    _unchanged(lab, before)
    assert lab.store.rows(MetadataTable.RollbackPlans) == []


def test_a_name_of_another_type_is_not_found(lab: Lab) -> None:
    name = lab.batch(0).name
    run = lab.rollback(checkpoint_name=name, checkpoint_type="Manual")
    assert f"field 'checkpoint_name': no checkpoint named '{name}' of type Manual" in run.error


def test_ambiguous_name_lists_every_candidate_id(lab: Lab) -> None:
    """Names are unique now, but a lakehouse written by an earlier release may hold duplicates."""
    audit = AuditTrail(lab.store, "manual-run", Actor(requested_by="alice"))
    first = create_manual_checkpoint(lab.house, lab.store, audit, name="before_upgrade",
                                     tables=None, reason="upgrade", requested_by="alice")
    audit.flush()
    second = str(uuid.uuid4())  # the same name recorded twice, as earlier releases allowed
    (parent,) = lab.store.rows(MetadataTable.CheckpointHistory,
                               equals={"CheckpointId": first.checkpoint_id})
    pins = lab.store.rows(MetadataTable.CheckpointTables,
                          equals={"CheckpointId": first.checkpoint_id})
    lab.store.append(MetadataTable.CheckpointTables, [{**r, "CheckpointId": second} for r in pins])
    lab.store.append(MetadataTable.CheckpointHistory, [{**parent, "CheckpointId": second}])
    before = _logs(lab)
    run = lab.rollback(checkpoint_name="before_upgrade", checkpoint_type="Manual")
    assert not run.success
    assert "field 'checkpoint_name': 2 checkpoints are named 'before_upgrade' of type Manual" in (
        run.error
    )
    assert first.checkpoint_id in run.error and second in run.error
    _unchanged(lab, before)
    by_id = lab.rollback(checkpoint_id=second, checkpoint_type="Manual")
    assert by_id.success, by_id.error


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"IsActive": False}, "is inactive (expired on"),
        ({"ValidationStatus": "Failed"}, "is Failed, not Validated"),
    ],
)
def test_inactive_or_not_validated_checkpoint_is_refused(
    bad_lab: Lab, values: dict[str, object], reason: str
) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    lab.store.update(
        MetadataTable.CheckpointHistory,
        equals={"CheckpointId": target.checkpoint_id},
        values=values,
    )
    before = _logs(lab)
    run = lab.rollback(checkpoint_id=target.checkpoint_id)
    assert not run.success
    assert "rollback refused before any table was touched" in run.error
    assert f"checkpoint {target.name} {reason}" in run.error
    assert f"Recommended action: checkpoint {lab.batch(-1).name}" in run.error
    _unchanged(lab, before)
    plans = lab.store.rows(MetadataTable.RollbackPlans)
    assert [p["Status"] for p in plans] == ["Refused"]
    audit = lab.audit(PipelineRunId=run.run_id)
    assert [(a["OperationType"], a["Status"]) for a in audit] == [("RollbackValidation", "Failed")]
    assert reason in audit[0]["ErrorMessage"]


def test_vacuumed_table_is_refused_before_any_table_is_touched(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    DeltaTable(lab.uri("account")).vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False
    )
    before = _logs(lab)
    run = lab.rollback(checkpoint_id=target.checkpoint_id)
    assert not run.success
    version = target.pin("account").version
    assert f"table account cannot be restored to version {version}: " in run.error
    assert "data file(s) of version" in run.error and "are gone (vacuumed or deleted)" in run.error
    newest = lab.batch(-1)
    assert f"Recommended action: checkpoint {newest.name} (id {newest.checkpoint_id}" in run.error
    assert "is the newest restorable DailyBatch checkpoint" in run.error
    _unchanged(lab, before)
    assert lab.checkpoints("PreRollback") == []


def test_files_vacuumed_after_the_plan_refuse_the_apply(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    DeltaTable(lab.uri("account")).vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False
    )
    before = _logs(lab)
    run = lab.apply(target, plan_id)
    assert not run.success
    assert "checkpoint can no longer be restored: table account cannot be restored" in run.error
    _unchanged(lab, before)
    assert lab.checkpoints("PreRollback") == []


def test_recreated_table_is_refused(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    data = DeltaTable(lab.uri("donation")).to_pyarrow_table()
    shutil.rmtree(lab.uri("donation"))
    lab.engine.overwrite(lab.uri("donation"), data)
    before = _logs(lab)
    run = lab.rollback(checkpoint_id=target.checkpoint_id)
    assert not run.success
    assert f"its id is no longer {target.pin('donation').table_id}" in run.error
    _unchanged(lab, before)


def test_deletion_vector_table_is_refused_on_deltars(bad_lab: Lab) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    DeltaTable(lab.uri("contact")).alter.add_feature(
        TableFeatures.DeletionVectors, allow_protocol_versions_increase=True
    )
    before = _logs(lab)
    run = lab.rollback(checkpoint_id=target.checkpoint_id)
    assert not run.success
    assert "table contact cannot be restored to version" in run.error
    assert "deletionVectors" in run.error and "delta-rs" in run.error
    _unchanged(lab, before)
    assert lab.checkpoints("PreRollback") == []
