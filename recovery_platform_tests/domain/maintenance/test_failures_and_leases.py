"""One table's failure never stops the others; a table a sync holds is waited for, then skipped."""

from __future__ import annotations

import threading
from pathlib import Path

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus
from recovery_platform.engine import OptimizeResult, StorageEngine
from recovery_platform_tests.domain.maintenance.scenario import maintain, rows
from recovery_platform_tests.domain.site import Site

FAILING = ("donation", "activitypointer", "metadata.SchemaVersions")


def rewrite_failing_for(lakehouse_root: str) -> object:
    """The engine's OPTIMIZE, except on FAILING tables, where the rewrite fails."""
    def rewrite(engine: StorageEngine, uri: str, zorder: tuple[str, ...]) -> OptimizeResult:
        name = uri.removeprefix(lakehouse_root).strip("/").replace("bronze/", "")
        if name.replace("metadata/", "metadata.") in FAILING:
            raise RuntimeError(f"the rewrite of {name} failed")
        return engine.optimize(uri, zorder_columns=zorder)
    return rewrite


def test_failing_tables_do_not_stop_the_others_and_more_than_three_alert(site: Site) -> None:
    contact = Path(site.lakehouse.bronze_uri("contact"))
    # a real failure: contact's latest commit is not a Delta log entry any more
    (contact / "_delta_log" / f"{3:020d}.json").write_text("not a log entry\n")
    summary, run_id = maintain(site, operations=["optimize", "vacuum", "metadata"],
                               dry_run=False, rewrite=rewrite_failing_for(site.lakehouse.root))

    assert set(summary.failures) == {"contact", *FAILING}, summary.markdown()
    assert "account" in summary.successes
    assert "metadata.SyncAuditLog" in summary.successes
    assert "the rewrite of donation failed" in summary.failures["donation"]
    alerts = rows(site.store, MetadataTable.Alerts, PipelineRunId=run_id)
    critical = [a for a in alerts if a["AlertType"] == "MaintenanceFailures"]
    assert len(critical) == 1 and critical[0]["Severity"] == "CRITICAL"
    assert all(t in critical[0]["Message"] for t in ("contact", *FAILING))
    failed_steps = {r["TableName"] for r in rows(site.store, MetadataTable.SyncAuditLog,
                                                  PipelineRunId=run_id, Status="Failed")}
    assert failed_steps == {"contact", *FAILING}
    # the metadata tables' own history is still queryable after their vacuum and optimize
    assert rows(site.store, MetadataTable.CheckpointHistory)
    assert site.lakehouse.engine.history(site.lakehouse.metadata_uri(MetadataTable.Alerts))


def test_a_held_lease_is_waited_for_and_a_lease_never_released_skips_the_table(
    site: Site,
) -> None:
    released_soon = site.leases.acquire("account", "daily-sync-run")
    held = site.leases.acquire("contact", "daily-sync-run")
    timer = threading.Timer(0.5, site.leases.release, args=(released_soon,))
    timer.start()
    try:
        summary, run_id = maintain(site, tables=["account", "contact"],
                                   operations=["optimize"], dry_run=False,
                                   lease_wait_seconds=2.0)
    finally:
        timer.join()
        site.leases.release(held)
    assert summary.successes == ("account",)
    assert list(summary.skipped) == ["contact"]
    assert "daily-sync-run" in summary.skipped["contact"]
    skipped = rows(site.store, MetadataTable.SyncAuditLog, PipelineRunId=run_id,
                   TableName="contact")
    assert [r["Status"] for r in skipped] == [AuditStatus.Skipped.value]
    assert summary.as_metadata()["tables_skipped"] == 1
