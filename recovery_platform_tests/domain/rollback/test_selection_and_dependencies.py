"""`restore_before` picks the right checkpoint and says why; partial scopes warn about orphans."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.sources import extract_path, write_extract
from recovery_platform_tests.domain.rollback.lab import BAD_DAY, DAYS, START, TABLES, Lab

LAST_DAY = START + timedelta(days=DAYS - 1)


def _selection(lab: Lab, run_output: str) -> str:
    return lab.plan_json(run_output)["selection"]


def test_restore_before_resolves_to_the_latest_validated_active_batch_before_it(
    lab: Lab,
) -> None:
    first, second, third = lab.checkpoints("DailyBatch")
    before = second.created + timedelta(microseconds=1)
    expected = (
        f"latest active, validated DailyBatch checkpoint created before "
        f"{before.isoformat()}: {second.name} at {second.created.isoformat()}"
    )
    aware = lab.rollback(restore_before=before.isoformat(), reason="bad sync")
    assert aware.success, aware.error
    assert lab.plan_json(aware.output)["checkpoint"]["checkpoint_id"] == second.checkpoint_id
    assert _selection(lab, aware.output) == expected
    assert f"Selected by: {expected}." in aware.metadata["plan"]

    naive = before.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert _selection(lab, lab.rollback(restore_before=naive).output) == expected
    paris = before.astimezone(timezone(timedelta(hours=2))).isoformat()
    resolved = lab.plan_json(lab.rollback(restore_before=paris).output)
    assert resolved["checkpoint"]["checkpoint_id"] == second.checkpoint_id

    lab.store.update(
        MetadataTable.CheckpointHistory,
        equals={"CheckpointId": second.checkpoint_id},
        values={"IsActive": False},
    )
    fallback = lab.rollback(restore_before=before.isoformat())
    assert _selection(lab, fallback.output) == (
        f"latest active, validated DailyBatch checkpoint created before {before.isoformat()}: "
        f"{first.name} at {first.created.isoformat()} (1 older or invalid candidates skipped)"
    )
    assert third.created > before


def test_restore_before_every_checkpoint_is_refused(lab: Lab) -> None:
    first = lab.batch(0)
    run = lab.rollback(restore_before=first.created.isoformat())
    assert not run.success
    assert (
        f"field 'restore_before': no active, validated DailyBatch checkpoint was created "
        f"before {first.created.isoformat()}"
    ) in run.error


def _keys(uri: str, column: str, version: int | None = None) -> list[str | None]:
    return (
        DeltaTable(uri, version=version)
        .to_pyarrow_table(columns=[column])
        .column(column)
        .to_pylist()
    )


def _replace(data: pa.Table, column: str, values: list[str]) -> pa.Table:
    index = data.schema.get_field_index(column)
    return data.set_column(index, data.schema.field(index), pa.array(values, pa.string()))


def _land_new_accounts_with_donations(lab: Lab, accounts: int, donations: int) -> None:
    """The day after the last sync: `accounts` new accounts and `donations` donations to them."""
    for table in TABLES:
        data = pq.read_table(extract_path(lab.landing, table, LAST_DAY))
        if table == "account":
            extra = data.slice(0, accounts)
            ids = [f"new-account-{i:04d}" for i in range(accounts)]
            data = pa.concat_tables([data, _replace(extra, "accountid", ids)])
        if table == "donation":
            extra = data.slice(0, donations)
            ids = [f"new-donation-{i:04d}" for i in range(donations)]
            refs = [f"new-account-{i % accounts:04d}" for i in range(donations)]
            extra = _replace(_replace(extra, "donationid", ids), "accountid", refs)
            data = pa.concat_tables([data, extra])
        write_extract(lab.landing, table, BAD_DAY, data)


def test_partial_scope_warns_about_orphans_with_their_count(lab: Lab) -> None:
    target = lab.batch(-1)
    _land_new_accounts_with_donations(lab, accounts=200, donations=300)
    assert lab.sync(BAD_DAY).success
    run = lab.rollback(checkpoint_id=target.checkpoint_id, tables_scope=["account"])
    assert run.success, run.error
    kept = set(_keys(lab.uri("account"), "accountid", target.pin("account").version))
    expected = {}
    for child, column in (
        ("contact", "parentcustomerid"),
        ("donation", "accountid"),
        ("activitypointer", "regardingobjectid"),
    ):
        refs = _keys(lab.uri(child), column)
        orphans = sum(1 for r in refs if r is not None and r not in kept)
        if orphans:
            expected[(child, column)] = orphans
    assert expected[("donation", "accountid")] == 300
    warnings = lab.plan_json(run.output)["warnings"]
    assert {(w["child"], w["column"]): w["orphans"] for w in warnings} == expected
    assert all(w["parent"] == "account" for w in warnings)
    markdown = run.metadata["plan"]
    assert "### Dependency warnings" in markdown
    assert (
        "- ⚠ donation.accountid -> account: 300 donation rows would reference "
        "account rows that are absent after the rollback; include both tables in "
        "tables_scope to keep them consistent"
    ) in markdown
    audit = lab.audit(PipelineRunId=run.run_id, OperationType="RollbackImpactAnalysis")
    assert [a["Status"] for a in audit] == ["Warning"]
    both = lab.rollback(checkpoint_id=target.checkpoint_id, tables_scope=["account", "donation"])
    assert both.success, both.error
    assert ("donation", "accountid") not in {
        (w["child"], w["column"]) for w in lab.plan_json(both.output)["warnings"]
    }


def test_full_scope_has_no_orphan_warning(lab: Lab) -> None:
    run = lab.rollback(checkpoint_id=lab.batch(0).checkpoint_id)
    assert run.success, run.error
    assert lab.plan_json(run.output)["warnings"] == []
    assert "Dependency warnings" not in run.metadata["plan"]
