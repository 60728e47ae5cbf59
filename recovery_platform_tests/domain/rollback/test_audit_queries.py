"""The documented audit queries, run with DataFusion (delta-rs QueryBuilder) over real metadata."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.rollback.queries import (
    failed_rollbacks,
    recent_rollbacks,
    rollbacks_touching,
)
from recovery_platform_tests.domain.rollback.lab import Lab


def datafusion(sql: str, tables: Mapping[str, str]) -> pa.Table:
    builder = QueryBuilder()
    for name, uri in tables.items():
        builder.register(name, DeltaTable(uri))
    return pa.table(builder.execute(sql).read_all())


def test_audit_queries_answer_the_three_questions(bad_lab: Lab) -> None:
    lab = bad_lab
    good = lab.batch(-2)
    applied_plan = lab.plan(good, reason="bad sync").output
    applied = lab.apply(good, applied_plan)
    assert applied.success, applied.error
    partial_plan = lab.plan(good, tables_scope=["account"]).output
    self_approved = lab.apply(good, partial_plan, tables_scope=["account"], approved_by="alice")
    assert not self_approved.success
    old_plan = lab.plan(lab.batch(0), tables_scope=["contact"]).output
    lab.store.upsert(
        MetadataTable.RollbackPlans,
        [{"PlanId": old_plan, "CreatedAt": utc_now() - timedelta(days=40)}],
        key="PlanId",
    )
    lab.store.update(
        MetadataTable.CheckpointHistory,
        equals={"CheckpointId": lab.batch(0).checkpoint_id},
        values={"IsActive": False},
    )
    refused = lab.rollback(checkpoint_id=lab.batch(0).checkpoint_id)
    assert not refused.success

    recent = recent_rollbacks(lab.house, datafusion, days=30)
    refused_plan = next(
        p["PlanId"] for p in lab.store.rows(MetadataTable.RollbackPlans) if p["Status"] == "Refused"
    )
    assert recent.column("PlanId").to_pylist() == [refused_plan, partial_plan, applied_plan]
    statuses = dict(
        zip(recent.column("PlanId").to_pylist(), recent.column("Status").to_pylist(), strict=True)
    )
    assert statuses == {refused_plan: "Refused", partial_plan: "Planned", applied_plan: "Applied"}
    assert recent.column("ApprovedBy").to_pylist()[-1] == "bob"
    assert set(recent_rollbacks(lab.house, datafusion, days=41).column("PlanId").to_pylist()) == {
        refused_plan,
        partial_plan,
        applied_plan,
        old_plan,
    }

    account = rollbacks_touching(lab.house, datafusion, "account")
    assert account.column("PlanId").to_pylist() == [partial_plan, applied_plan]
    assert account.column("IntentStatus").to_pylist() == ["pending", "validated"]
    contact = rollbacks_touching(lab.house, datafusion, "contact")
    assert contact.column("PlanId").to_pylist() == [applied_plan, old_plan]
    with pytest.raises(InvalidInputError, match="field 'table': unknown table"):
        rollbacks_touching(lab.house, datafusion, "account' OR 1=1 --")

    failed = failed_rollbacks(lab.house, datafusion).to_pylist()
    assert [(f["PipelineRunId"], f["OperationType"]) for f in failed] == [
        (refused.run_id, "RollbackValidation"),
        (self_approved.run_id, "RollbackValidation"),
    ]
    assert "is inactive (expired on" in failed[0]["ErrorMessage"]
    assert "alice requested this plan; another admin must approve it" in failed[1]["ErrorMessage"]
    assert failed[1]["ApprovedBy"] == "alice"


def test_days_must_be_a_whole_number(bad_lab: Lab) -> None:
    with pytest.raises(InvalidInputError, match="field 'days'"):
        recent_rollbacks(bad_lab.house, datafusion, days="30; DROP TABLE x")  # type: ignore[arg-type]
